// The workflow bundle's entry: every workflow type the worker registers.
export { bootstrapConfigWorkflow } from './bootstrap-config.js';
export { hostedControlPlaneWorkflow } from './hosted-control-plane.js';
export { poolWorkflow } from './pool.js';
export { remoteClusterWorkflow } from './remote-cluster.js';
export { remoteMachineWorkflow } from './remote-machine.js';
export { tokenRotationWorkflow } from './token-rotation.js';
