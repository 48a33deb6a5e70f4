import { mergeHints } from './bridge.js';

describe('mergeHints', () => {
  it('keeps the newest generation, and deletion and dependency causes are sticky', () => {
    expect(mergeHints({ generation: 1, deleting: true }, { generation: 2 })).toEqual({
      generation: 2,
      deleting: true,
    });
    expect(mergeHints({ cause: 'Cluster' }, { generation: 4, resourceVersion: '9' })).toEqual({
      cause: 'Cluster',
      generation: 4,
      resourceVersion: '9',
    });
  });
});
