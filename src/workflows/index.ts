// The workflow bundle's entry: every workflow type the worker registers.
export { remoteClusterWorkflow } from './remote-cluster.js';
