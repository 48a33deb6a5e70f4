import { K0sWorkerConfigSpecSchema } from './api/bootstrap.js';
import { BOOTSTRAP_SENTINEL, parseBootstrapData } from './cloud-init.js';
import {
  WORKER_SENTINEL_COMMAND,
  WORKER_START_COMMAND,
  joinPath,
  normalizeWorkerVersion,
  planWorkerBootstrap,
  workerCloudConfig,
  workerDownloadCommands,
  workerInstallCommand,
  workerTokenPath,
  type PlanInput,
  type WorkerBootstrap,
  type WorkerBootstrapResult,
  type WorkerCommandsResult,
} from './worker-bootstrap.js';

function commands(result: WorkerCommandsResult): string[] {
  if (!result.ok) throw new Error(`expected commands, got: ${result.error}`);
  return result.commands;
}

function bootstrap(result: WorkerBootstrapResult): WorkerBootstrap {
  if (!result.ok) throw new Error(`expected bootstrap data, got: ${result.error}`);
  return result.bootstrap;
}

function error(result: WorkerCommandsResult | WorkerBootstrapResult): string {
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

const spec = (input: unknown) => K0sWorkerConfigSpecSchema.parse(input);

function plan(input: unknown, rest: Partial<Omit<PlanInput, 'spec'>> = {}): WorkerBootstrapResult {
  return planWorkerBootstrap({ spec: spec(input), machineName: 'm-0', token: 'TOKEN', ...rest });
}

describe('normalizeWorkerVersion', () => {
  it('prefers spec.version over the Machine version', () => {
    expect(normalizeWorkerVersion('v1.31.2+k0s.1', 'v1.30.0')).toBe('v1.31.2+k0s.1');
  });

  it('falls back to the Machine version when spec.version is unset or empty', () => {
    expect(normalizeWorkerVersion(undefined, 'v1.30.0+k0s.0')).toBe('v1.30.0+k0s.0');
    expect(normalizeWorkerVersion('', 'v1.30.0+k0s.0')).toBe('v1.30.0+k0s.0');
  });

  it('rewrites only the first -k0s. to +k0s.', () => {
    expect(normalizeWorkerVersion(undefined, 'v1.31.2-k0s.1')).toBe('v1.31.2+k0s.1');
    expect(normalizeWorkerVersion(undefined, 'v1.31.2-k0s.1-k0s.2')).toBe('v1.31.2+k0s.1-k0s.2');
  });

  it('appends +k0s.0 when no +k0s. is present', () => {
    expect(normalizeWorkerVersion('v1.31.2', undefined)).toBe('v1.31.2+k0s.0');
    expect(normalizeWorkerVersion(undefined, 'v1.30.0')).toBe('v1.30.0+k0s.0');
  });

  it('is undefined when neither is given', () => {
    expect(normalizeWorkerVersion(undefined, undefined)).toBeUndefined();
    expect(normalizeWorkerVersion('', '')).toBeUndefined();
  });
});

describe('joinPath and workerTokenPath', () => {
  it('joins and cleans as Go filepath.Join does', () => {
    expect(joinPath('/usr/local/bin', 'k0s')).toBe('/usr/local/bin/k0s');
    expect(joinPath('/opt//bin/', 'k0s')).toBe('/opt/bin/k0s');
    expect(joinPath('/opt/./x/../bin', 'k0s')).toBe('/opt/bin/k0s');
    expect(joinPath('', 'k0s')).toBe('k0s');
    expect(joinPath('', '')).toBe('');
  });

  it('puts the token in /etc unless a working directory is set', () => {
    expect(workerTokenPath(undefined)).toBe('/etc/k0s.token');
    expect(workerTokenPath('')).toBe('/etc/k0s.token');
    expect(workerTokenPath('/var/lib/k0smotron/')).toBe('/var/lib/k0smotron/k0s.token');
  });
});

describe('workerDownloadCommands', () => {
  it('gives nothing when k0s is pre-installed, whatever else is set', () => {
    expect(
      commands(workerDownloadCommands({ preInstalledK0s: true, downloadURL: 'ftp://x', version: 'v1' }))
    ).toEqual([]);
  });

  it('uses the get.k0s.sh script with the version when one is known', () => {
    expect(commands(workerDownloadCommands({ k0sInstallDir: '/opt/bin', version: 'v1.31.2+k0s.0' }))).toEqual(
      ['curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/opt/bin K0S_VERSION=v1.31.2+k0s.0 sh']
    );
  });

  it('leaves K0S_VERSION out when no version is known, and defaults the directory', () => {
    expect(commands(workerDownloadCommands({}))).toEqual([
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin sh',
    ]);
    expect(commands(workerDownloadCommands({ k0sInstallDir: '', version: '' }))).toEqual([
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin sh',
    ]);
  });

  it('downloads an http(s) URL with curl, in place of the script and regardless of version', () => {
    const url = 'https://example.com/k0s-v1.31.2?x=1';
    expect(
      commands(workerDownloadCommands({ downloadURL: url, k0sInstallDir: '/opt/bin', version: 'v1.31.2' }))
    ).toEqual([`curl -sSfL --retry 5 ${url} -o /opt/bin/k0s`, 'chmod +x /opt/bin/k0s']);
    expect(commands(workerDownloadCommands({ downloadURL: 'HTTP://example.com/k0s' }))).toEqual([
      'curl -sSfL --retry 5 HTTP://example.com/k0s -o /usr/local/bin/k0s',
      'chmod +x /usr/local/bin/k0s',
    ]);
  });

  it('fetches an oci:// URL with oras, passing host and path only', () => {
    expect(
      commands(workerDownloadCommands({ downloadURL: 'oci://registry.example.com/k0s@sha256:abcdef?q=1' }))
    ).toEqual([
      'export HOME=/root',
      'oras blob fetch --output /usr/local/bin/k0s registry.example.com/k0s@sha256:abcdef',
      'chmod +x /usr/local/bin/k0s',
    ]);
    expect(commands(workerDownloadCommands({ downloadURL: 'oci://user@reg:5000/a%20b' }))[1]).toBe(
      'oras blob fetch --output /usr/local/bin/k0s reg:5000/a b'
    );
  });

  it('rejects any other scheme with an error naming the field', () => {
    expect(error(workerDownloadCommands({ downloadURL: 'ftp://example.com/k0s' }))).toBe(
      "downloadURL: unsupported URL scheme 'ftp'"
    );
    expect(error(workerDownloadCommands({ downloadURL: 'example.com/k0s' }))).toBe(
      "downloadURL: unsupported URL scheme ''"
    );
  });

  it('gives k0smotron echo command for a URL Go cannot parse', () => {
    for (const url of ['https://example.com/%zz', ':nothing', 'https://example.com/\tk0s']) {
      expect(commands(workerDownloadCommands({ downloadURL: url }))).toEqual([
        `echo 'Invalid download URL: ${url}'`,
      ]);
    }
  });
});

describe('workerInstallCommand', () => {
  // The cases of k0smotron v1.10.9 Test_createInstallCmd (there K0sInstallDir is empty, so the binary is `k0s`).
  const base = 'k0s install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=test';
  const install = (args: string[] | undefined, useSystemHostname = false) =>
    workerInstallCommand({
      k0sInstallDir: '',
      tokenPath: '/etc/k0s.token',
      machineName: 'test',
      args,
      useSystemHostname,
    });

  it('adds the Machine name as label and kubelet hostname by default', () => {
    expect(install(undefined)).toBe(`${base} --kubelet-extra-args="--hostname-override=test"`);
  });

  it('folds --kubelet-extra-args after the hostname override, keeping the other args in order', () => {
    expect(
      install(['--debug', '--labels=k0sproject.io/foo=bar', '--kubelet-extra-args="--hostname-override=x"'])
    ).toBe(
      `${base} --debug --labels=k0sproject.io/foo=bar --kubelet-extra-args="--hostname-override=test --hostname-override=x"`
    );
    expect(
      install(['--debug', '--labels=k0sproject.io/foo=bar', '--kubelet-extra-args="--my-arg=value"'])
    ).toBe(
      `${base} --debug --labels=k0sproject.io/foo=bar --kubelet-extra-args="--hostname-override=test --my-arg=value"`
    );
  });

  it('leaves the hostname override out with useSystemHostname', () => {
    expect(install(['--debug', '--kubelet-extra-args="--my-arg=value"'], true)).toBe(
      `${base} --debug --kubelet-extra-args="--my-arg=value"`
    );
    expect(install(['--debug'], true)).toBe(`${base} --debug`);
  });

  it('joins several kubelet args, split at = or space, quotes trimmed; a bare flag is kept whole', () => {
    expect(
      install([
        "--kubelet-extra-args='--a=1 --b=2'",
        '--kubelet-extra-args --c',
        '--kubelet-extra-args',
        '--enable-cloud-provider',
      ])
    ).toBe(
      `${base} --enable-cloud-provider --kubelet-extra-args="--hostname-override=test --a=1 --b=2 --c --kubelet-extra-args"`
    );
  });

  it('splits at the first = before any space, as k0smotron does (its quirk, kept)', () => {
    expect(install(['--kubelet-extra-args --c=3'])).toBe(
      `${base} --kubelet-extra-args="--hostname-override=test 3"`
    );
  });

  it('uses the install directory and token path given', () => {
    expect(
      workerInstallCommand({
        k0sInstallDir: '/opt/bin/',
        tokenPath: '/var/lib/k0s.token',
        machineName: 'w',
        useSystemHostname: true,
      })
    ).toBe(
      '/opt/bin/k0s install worker --token-file /var/lib/k0s.token --labels=k0smotron.io/machine-name=w'
    );
    expect(workerInstallCommand({ tokenPath: '/etc/k0s.token', machineName: 'w' })).toMatch(
      /^\/usr\/local\/bin\/k0s install worker /
    );
  });
});

describe('WORKER_START_COMMAND', () => {
  it('tries systemd, OpenRC and SysV, then fails', () => {
    expect(WORKER_START_COMMAND).toBe(
      '(command -v systemctl > /dev/null 2>&1 && systemctl start k0sworker) || ' +
        '(command -v rc-service > /dev/null 2>&1 && rc-service k0sworker start) || ' +
        '(command -v service > /dev/null 2>&1 && service k0sworker start) || ' +
        '(echo "Not a supported init system"; false)'
    );
  });
});

describe('workerCloudConfig', () => {
  it('writes what k0smotron TestCloudInit expects', () => {
    expect(
      workerCloudConfig({
        files: [{ path: '/etc/hosts', content: 'foobar', permissions: '0644' }],
        commands: ["echo 'hello world'"],
      })
    ).toBe(`## template: jinja
#cloud-config
write_files:
  - path: /etc/hosts
    content: foobar
    permissions: "0644"
runcmd:
  - echo 'hello world'
`);
  });

  it('round-trips through parseBootstrapData: files, modes and commands', () => {
    const data: WorkerBootstrap = {
      files: [
        { path: '/etc/k0s.token', content: 'H4sIAAAAAAAC/0rLz1dISiwCAAAA//8BAAD//w==', permissions: '0600' },
        { path: '/etc/motd', content: 'hello\n  world: yes\n# not a comment\n', permissions: '' },
        { path: '/etc/n', content: '0644', permissions: '0755' },
      ],
      commands: [
        'echo "a: b" # c',
        WORKER_START_COMMAND,
        `curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin K0S_VERSION=v1.31.2+k0s.0 sh ${'x'.repeat(200)}`,
        WORKER_SENTINEL_COMMAND,
      ],
    };
    const parsed = parseBootstrapData(workerCloudConfig(data));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.plan.files).toEqual([
      { path: '/etc/k0s.token', content: data.files[0]?.content, encoding: 'text', mode: 0o600 },
      { path: '/etc/motd', content: data.files[1]?.content, encoding: 'text', mode: 0o644 },
      { path: '/etc/n', content: '0644', encoding: 'text', mode: 0o755 },
    ]);
    expect(parsed.plan.commands).toEqual(data.commands);
  });

  it('writes empty lists when there is nothing', () => {
    const text = workerCloudConfig({ files: [], commands: [] });
    expect(text).toBe('## template: jinja\n#cloud-config\nwrite_files: []\nruncmd: []\n');
  });
});

describe('planWorkerBootstrap', () => {
  it('assembles the default worker: token file, script download, install, start, sentinel', () => {
    expect(bootstrap(plan({}, { machineVersion: 'v1.31.2' }))).toEqual({
      files: [{ path: '/etc/k0s.token', content: 'TOKEN', permissions: '0600' }],
      commands: [
        'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin K0S_VERSION=v1.31.2+k0s.0 sh',
        '/usr/local/bin/k0s install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=m-0 --kubelet-extra-args="--hostname-override=m-0"',
        WORKER_START_COMMAND,
        `mkdir -p /run/cluster-api && touch ${BOOTSTRAP_SENTINEL}`,
      ],
    });
  });

  it('orders every spec field as k0smotron does', () => {
    const b = bootstrap(
      plan(
        {
          version: 'v1.32.1+k0s.0',
          k0sInstallDir: '/opt/k0s',
          workingDir: '/var/lib/k0smotron',
          useSystemHostname: true,
          args: ['--debug', '--kubelet-extra-args=--max-pods=50'],
          preStartCommands: ['pre1', 'pre2'],
          postStartCommands: ['post1'],
          files: [{ path: '/etc/a', content: 'a' }],
        },
        {
          machineVersion: 'v1.30.0',
          files: [
            { path: '/etc/a', content: 'a' },
            { path: '/etc/b', content: 'b', permissions: '0400' },
          ],
        }
      )
    );
    expect(b.files).toEqual([
      { path: '/var/lib/k0smotron/k0s.token', content: 'TOKEN', permissions: '0600' },
      { path: '/etc/a', content: 'a', permissions: '' },
      { path: '/etc/b', content: 'b', permissions: '0400' },
    ]);
    expect(b.commands).toEqual([
      'pre1',
      'pre2',
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/opt/k0s K0S_VERSION=v1.32.1+k0s.0 sh',
      '/opt/k0s/k0s install worker --token-file /var/lib/k0smotron/k0s.token --labels=k0smotron.io/machine-name=m-0 --debug --kubelet-extra-args="--max-pods=50"',
      WORKER_START_COMMAND,
      'post1',
      WORKER_SENTINEL_COMMAND,
    ]);
  });

  it('uses downloadURL in place of the script, and nothing with preInstalledK0s', () => {
    const url = bootstrap(plan({ downloadURL: 'https://x/k0s' }, { machineVersion: 'v1.31.2' }));
    expect(url.commands.slice(0, 2)).toEqual([
      'curl -sSfL --retry 5 https://x/k0s -o /usr/local/bin/k0s',
      'chmod +x /usr/local/bin/k0s',
    ]);
    const pre = bootstrap(plan({ preInstalledK0s: true, preStartCommands: ['pre'] }));
    expect(pre.commands[0]).toBe('pre');
    expect(pre.commands[1]).toMatch(/^\/usr\/local\/bin\/k0s install worker /);
  });

  it('leaves K0S_VERSION out when neither spec nor Machine has a version', () => {
    expect(bootstrap(plan({})).commands[0]).toBe(
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin sh'
    );
  });

  it('fails on an unsupported downloadURL scheme', () => {
    expect(error(plan({ downloadURL: 's3://bucket/k0s' }))).toBe("downloadURL: unsupported URL scheme 's3'");
  });

  it('gives a document that round-trips through parseBootstrapData', () => {
    const b = bootstrap(
      plan({ postStartCommands: ['echo done: "yes"'] }, { machineVersion: 'v1.31.2-k0s.0' })
    );
    const parsed = parseBootstrapData(workerCloudConfig(b));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.plan.commands).toEqual(b.commands);
    expect(parsed.plan.files.map((f) => [f.path, f.content, f.mode])).toEqual([
      ['/etc/k0s.token', 'TOKEN', 0o600],
    ]);
    expect(b.commands[0]).toContain('K0S_VERSION=v1.31.2+k0s.0 ');
  });
});
