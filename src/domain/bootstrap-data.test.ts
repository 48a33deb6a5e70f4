import { parse } from 'yaml';

import { K0sWorkerConfigSpecSchema } from './api/bootstrap.js';
import { invalidVersionProblem, planConfigData } from './bootstrap-data.js';

const spec = (fields: Record<string, unknown> = {}) => K0sWorkerConfigSpecSchema.parse(fields);

describe('invalidVersionProblem', () => {
  it.each([
    ['v1.30.1+k0s.0', undefined],
    ['v1.30.1', undefined],
    ['1.30.1-rc.1+k0s.2', undefined],
  ])('accepts %s', (version, machine) => {
    expect(invalidVersionProblem('K0sWorkerConfig', version, machine)).toBeUndefined();
  });

  it('normalises a worker version before judging it (the Machine version when the spec has none)', () => {
    expect(invalidVersionProblem('K0sWorkerConfig', undefined, 'v1.29.3')).toBeUndefined();
    expect(invalidVersionProblem('K0sWorkerConfig', undefined, 'v1.29')).toContain('"v1.29+k0s.0"');
  });

  it.each(['v1.30+k0s.0', 'latest', 'v1.30.1; rm -rf /', 'v1.30.1+k0s.0 extra'])('refuses %s', (version) => {
    expect(invalidVersionProblem('K0sWorkerConfig', version, undefined)).toMatch(/is not a k0s version/);
  });

  it('has nothing to say without any version', () => {
    expect(invalidVersionProblem('K0sWorkerConfig', undefined, undefined)).toBeUndefined();
  });

  it('takes a controller version as written (no -k0s. rewrite)', () => {
    expect(invalidVersionProblem('K0sControllerConfig', 'v1.30.1-k0s.0', undefined)).toBeUndefined();
    expect(invalidVersionProblem('K0sControllerConfig', 'bogus', undefined)).toContain('"bogus"');
  });
});

describe('planConfigData', () => {
  const base = { kind: 'K0sWorkerConfig', configName: 'c', machineName: 'm0', files: [], token: 'TOKEN' };

  it('writes the cloud-config k0smotron writes, format cloud-config, the token file first', () => {
    const planned = planConfigData({ ...base, spec: spec({ preStartCommands: ['echo pre'] }) });
    if (!planned.ok) throw new Error(planned.error);
    expect(planned.data.format).toBe('cloud-config');
    expect(planned.data.value.startsWith('## template: jinja\n#cloud-config\n')).toBe(true);
    const doc = parse(planned.data.value) as {
      write_files: { path: string; content: string }[];
      runcmd: string[];
    };
    expect(doc.write_files[0]).toEqual({ path: '/etc/k0s.token', content: 'TOKEN', permissions: '0600' });
    expect(doc.runcmd[0]).toBe('echo pre');
  });

  it('refuses what it cannot generate as unsupported: ignition, customUserDataRef', () => {
    const ignition = planConfigData({
      ...base,
      spec: spec({ ignition: { variant: 'fcos', version: '1.5.0' } }),
    });
    expect(ignition).toMatchObject({
      ok: false,
      unsupported: true,
      error: expect.stringContaining('spec.ignition'),
    });
    const custom = planConfigData({
      ...base,
      spec: spec({ customUserDataRef: { secretRef: { name: 's', key: 'k' } } }),
    });
    expect(custom).toMatchObject({ ok: false, unsupported: true });
  });

  it('passes on a bad download scheme as an error that is not "unsupported"', () => {
    const planned = planConfigData({ ...base, spec: spec({ downloadURL: 'ftp://example.com/k0s' }) });
    expect(planned).toEqual({ ok: false, error: "downloadURL: unsupported URL scheme 'ftp'" });
  });
});
