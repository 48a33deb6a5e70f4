import { InvalidArgumentError } from 'commander';

import type { RotationPassSummary } from '../workflows/messages.js';
import { parseObjectName } from './machine.js';
import { errorChain, formatRotationSummary, parseTokenTtl, rotationInput } from './tokens.js';

const ID = 'k0sflow/token-rotation/infra/prod';

describe('parseTokenTtl', () => {
  it.each([
    ['24h', 86_400],
    ['90m', 5_400],
    ['1h30m', 5_400],
    ['10m', 600],
  ])('reads %s as %d seconds', (text, seconds) => {
    expect(parseTokenTtl(text)).toBe(seconds);
  });

  it.each(['', '0s', '1d', '1.5h', '-1h', '500ms', '24'])('refuses %p as commander expects', (text) => {
    expect(() => parseTokenTtl(text)).toThrow(InvalidArgumentError);
    expect(() => parseTokenTtl(text)).toThrow('a positive duration such as 24h');
  });

  it.each(['45s', '9m59s'])(
    'refuses %p: too short for a machine to join before rotation replaces it',
    (text) => {
      expect(() => parseTokenTtl(text)).toThrow('at least 10m');
    }
  );
});

describe('rotationInput', () => {
  it('names the Cluster as the rotation workflow takes it', () => {
    expect(rotationInput(parseObjectName('infra/prod'))).toEqual({ namespace: 'infra', clusterName: 'prod' });
  });
});

describe('formatRotationSummary', () => {
  it('prints each part of a pass on a key: value line', () => {
    const summary: RotationPassSummary = {
      at: '2030-01-01T12:00:00Z',
      revoked: [
        { id: 'abc123', why: 'joined' },
        { id: 'def456', why: 'expired' },
      ],
      reissued: ['K0sWorkerConfig/md-0-x', 'K0sWorkerConfig/md-0-y'],
      nextCheckAt: '2030-01-01T12:45:00Z',
    };
    expect(formatRotationSummary(ID, summary)).toBe(
      [
        'workflow id: k0sflow/token-rotation/infra/prod',
        'pass at: 2030-01-01T12:00:00Z',
        'revoked: abc123 (joined), def456 (expired)',
        'reissued: K0sWorkerConfig/md-0-x, K0sWorkerConfig/md-0-y',
        'next check: 2030-01-01T12:45:00Z',
        'paused: -',
        'error: -',
      ].join('\n')
    );
  });

  it('shows nothing done as a dash, and keeps a multi-line error on its line', () => {
    const text = formatRotationSummary(ID, {
      at: '2030-01-01T12:00:00Z',
      revoked: [],
      reissued: [],
      error: 'list join tokens: connect ECONNREFUSED\n  at 10.0.0.1:6443\n',
    });
    const lines = text.split('\n');
    expect(lines).toHaveLength(7);
    expect(lines).toContain('revoked: -');
    expect(lines).toContain('reissued: -');
    expect(lines).toContain('next check: -');
    expect(lines[6]).toBe('error: list join tokens: connect ECONNREFUSED at 10.0.0.1:6443');
  });
});

describe('formatRotationSummary of a paused Cluster', () => {
  it('says the pass did nothing because the Cluster is paused', () => {
    const text = formatRotationSummary(ID, {
      at: '2030-01-01T12:00:00Z',
      revoked: [],
      reissued: [],
      paused: true,
    });
    expect(text.split('\n')).toContain('paused: yes: the Cluster is paused, nothing was done');
  });
});

describe('errorChain', () => {
  it("adds the causes' words to a client error's generic message", () => {
    const server = new Error('3 INVALID_ARGUMENT: search attribute K0sflowKind is not defined');
    const err = new Error('Failed to signalWithStart Workflow', { cause: server });
    expect(errorChain(err)).toBe(
      'Failed to signalWithStart Workflow: 3 INVALID_ARGUMENT: search attribute K0sflowKind is not defined'
    );
  });

  it('says a repeated message once, and takes what is not an Error as text', () => {
    expect(errorChain(new Error('same', { cause: new Error('same', { cause: 'why' }) }))).toBe('same: why');
    expect(errorChain('plain')).toBe('plain');
  });
});
