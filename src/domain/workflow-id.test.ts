import { workflowIdFor } from './workflow-id.js';

describe('workflow IDs', () => {
  const ref = {
    kind: 'RemoteCluster',
    namespace: 'default',
    name: 'remote-test',
    uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  };

  it('are derived from kind, namespace, name and uid', () => {
    const id = workflowIdFor(ref);
    expect(id).toBe('k0sflow/RemoteCluster/default/remote-test/1b4e28ba-2fa1-11d2-883f-0016d3cca427');
  });

  it('differ for an object re-created under the same name', () => {
    expect(workflowIdFor(ref)).not.toBe(workflowIdFor({ ...ref, uid: 'other' }));
  });
});
