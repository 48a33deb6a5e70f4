import type { EntityState } from '../workflows/messages.js';
import {
  formatStatus,
  parseObjectName,
  pickExecution,
  visibilityQuery,
  webUiBase,
  webUiLink,
} from './machine.js';

describe('parseObjectName', () => {
  it('splits namespace and name', () => {
    expect(parseObjectName('infra/worker-0')).toEqual({ namespace: 'infra', name: 'worker-0' });
  });

  it.each(['worker-0', '/worker-0', 'infra/', 'a/b/c', ''])('rejects %p', (value) => {
    expect(() => parseObjectName(value)).toThrow('expected <namespace>/<name>');
  });

  it('rejects a quote or backslash, which would break out of the query literal', () => {
    expect(() => parseObjectName("infra/x' OR 'a'='a")).toThrow("cannot contain '");
    expect(() => parseObjectName('infra\\/x')).toThrow("cannot contain '");
  });
});

describe('visibilityQuery', () => {
  it('matches kind, namespace and name on the keyword search attributes', () => {
    expect(visibilityQuery('RemoteMachine', { namespace: 'infra', name: 'worker-0' })).toBe(
      "K0sflowKind = 'RemoteMachine' AND K0sflowNamespace = 'infra' AND K0sflowName = 'worker-0'"
    );
  });

  it('refuses values it cannot quote safely', () => {
    expect(() => visibilityQuery('RemoteMachine', { namespace: 'infra', name: "it's" })).toThrow();
  });
});

describe('pickExecution', () => {
  const at = (iso: string, status: string): { id: string; status: { name: string }; startTime: Date } => ({
    id: `${status}@${iso}`,
    status: { name: status },
    startTime: new Date(iso),
  });

  it('prefers a running execution over a more recent closed one', () => {
    const picked = pickExecution([at('2024-01-03', 'COMPLETED'), at('2024-01-01', 'RUNNING')]);
    expect(picked?.id).toBe('RUNNING@2024-01-01');
  });

  it('takes the most recently started one when none runs', () => {
    const picked = pickExecution([
      at('2024-01-01', 'CONTINUED_AS_NEW'),
      at('2024-01-05', 'TERMINATED'),
      at('2024-01-03', 'COMPLETED'),
    ]);
    expect(picked?.id).toBe('TERMINATED@2024-01-05');
  });

  it('finds nothing in nothing', () => {
    expect(pickExecution([])).toBeUndefined();
  });
});

describe('webUiBase', () => {
  it('uses the given URL, without a trailing slash', () => {
    expect(webUiBase('temporal.example:7233', 'https://ui.example/')).toBe('https://ui.example');
  });

  it.each([
    ['localhost:7233', 'http://localhost:8233'],
    ['127.0.0.1:7233', 'http://127.0.0.1:8233'],
    ['[::1]:7233', 'http://[::1]:8233'],
  ])('derives the dev server UI from %s', (address, expected) => {
    expect(webUiBase(address)).toBe(expected);
  });

  it.each(['temporal.example:7233', 'localhost:7234', 'localhost'])('has no URL for %s', (address) => {
    expect(webUiBase(address)).toBeUndefined();
  });
});

describe('webUiLink', () => {
  it('encodes the workflow id, whose slashes are not path separators', () => {
    expect(webUiLink('http://localhost:8233', 'default', 'k0sflow/RemoteMachine/infra/w/uid', 'run-1')).toBe(
      'http://localhost:8233/namespaces/default/workflows/k0sflow%2FRemoteMachine%2Finfra%2Fw%2Fuid/run-1'
    );
  });
});

describe('formatStatus', () => {
  const base = { workflowId: 'wf', runId: 'run', status: 'RUNNING' };

  it('prints every key, with - for what is unknown', () => {
    const state: EntityState = { phase: 'waiting', waitingFor: 'an operator', reconciles: 3 };
    expect(formatStatus({ ...base, state, webUi: 'http://ui/x' }).split('\n')).toEqual([
      'workflow id: wf',
      'run id: run',
      'status: RUNNING',
      'phase: waiting',
      'step: -',
      'waiting for: an operator',
      'last error: -',
      'web ui: http://ui/x',
    ]);
  });

  it('indents the continuation lines of a multi-line error', () => {
    const state: EntityState = {
      phase: 'failed',
      step: 'ssh',
      lastError: 'boom\nat line 2\n',
      reconciles: 1,
    };
    const text = formatStatus({ ...base, state });
    expect(text).toContain('last error: boom\n  at line 2');
    expect(text.endsWith('at line 2')).toBe(true);
  });

  it('omits the web ui line without a URL and leaves the state unknown when not running', () => {
    const text = formatStatus({ ...base, status: 'COMPLETED' });
    expect(text).not.toContain('web ui');
    expect(text).toContain('status: COMPLETED\nphase: -\nstep: -');
  });
});
