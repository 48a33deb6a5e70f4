import { parseWorkflowId, workflowIdFor } from './workflow-id.js';

describe('workflow IDs', () => {
  const ref = {
    kind: 'RemoteCluster',
    namespace: 'default',
    name: 'remote-test',
    uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  };

  it('are derived from kind, namespace, name and uid, and parse back', () => {
    const id = workflowIdFor(ref);
    expect(id).toBe('k0sflow/RemoteCluster/default/remote-test/1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    expect(parseWorkflowId(id)).toEqual(ref);
  });

  it('differ for an object re-created under the same name', () => {
    expect(workflowIdFor(ref)).not.toBe(workflowIdFor({ ...ref, uid: 'other' }));
  });

  it('reject IDs that are not ours', () => {
    expect(parseWorkflowId('something/else')).toBeUndefined();
  });
});
