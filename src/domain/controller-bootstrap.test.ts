import { K0sControllerConfigSpecSchema } from './api/bootstrap.js';
import { parseBootstrapData } from './cloud-init.js';
import {
  CONTROLLER_PKI_FILES,
  compareK0sVersions,
  controllerInstallCommand,
  controllerJoinPort,
  controllerJoinServerCandidates,
  controllerPkiFiles,
  controllerWorkerEnabled,
  firstRunningControllerMachine,
  formatK0sVersion,
  isFirstController,
  isK0sVersionBefore,
  k0sLeaveCommands,
  k0sLeaveFiles,
  needsK0sLeaveHook,
  normalizeControllerVersion,
  parseK0sVersion,
  pickControllerAddress,
  planControllerBootstrap,
  serializeK0sConfig,
  type ControllerMachine,
  type ControllerPlanInput,
  type K0sVersion,
} from './controller-bootstrap.js';
import { joinServerURL } from './join-token.js';
import {
  WORKER_SENTINEL_COMMAND,
  workerCloudConfig,
  type WorkerBootstrap,
  type WorkerBootstrapResult,
} from './worker-bootstrap.js';

function bootstrap(result: WorkerBootstrapResult): WorkerBootstrap {
  if (!result.ok) throw new Error(`expected bootstrap data, got: ${result.error}`);
  return result.bootstrap;
}

function error(result: { ok: boolean; error?: string }): string {
  if (result.ok || result.error === undefined) throw new Error('expected an error');
  return result.error;
}

function version(text: string): K0sVersion {
  const parsed = parseK0sVersion(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.version;
}

const spec = (input: unknown) => K0sControllerConfigSpecSchema.parse(input);

const PKI = [
  { path: '/var/lib/k0s/pki/ca.crt', content: 'CA CRT' },
  { path: '/var/lib/k0s/pki/ca.key', content: 'CA KEY' },
];

function plan(input: unknown, rest: Partial<Omit<ControllerPlanInput, 'spec'>> = {}): WorkerBootstrapResult {
  return planControllerBootstrap({
    spec: spec(input),
    configName: 'cp-0',
    machineName: 'cp-0-machine',
    role: { kind: 'first', pki: PKI },
    ...rest,
  });
}

// From k0smotron v1.10.9 internal/controller/bootstrap/controlplane_bootstrap_controller_test.go.
const LEAVE_COMMANDS = [
  '(command -v systemctl > /dev/null 2>&1 && (cp /etc/k0s/k0sleave.service /etc/systemd/system/k0sleave.service && systemctl daemon-reload && systemctl enable k0sleave.service && systemctl start --no-block k0sleave.service) || true)',
  '(command -v rc-service > /dev/null 2>&1 && (cp /etc/k0s/k0sleave-openrc /etc/init.d/k0sleave && rc-update add k0sleave shutdown) || true)',
  '(command -v service > /dev/null 2>&1 && (cp /etc/k0s/k0sleave-sysv /etc/init.d/k0sleave && update-rc.d k0sleave defaults && service k0sleave start) || true)',
];

describe('normalizeControllerVersion', () => {
  it('prefers spec.version over the Machine version', () => {
    expect(normalizeControllerVersion('v1.31.2+k0s.1', 'v1.30.0')).toBe('v1.31.2+k0s.1');
  });

  it('falls back to the Machine version when spec.version is unset or empty', () => {
    expect(normalizeControllerVersion(undefined, 'v1.30.0+k0s.0')).toBe('v1.30.0+k0s.0');
    expect(normalizeControllerVersion('', 'v1.30.0+k0s.0')).toBe('v1.30.0+k0s.0');
  });

  it('appends +k0s.0 when no +k0s. is present, without rewriting -k0s.', () => {
    expect(normalizeControllerVersion('v1.31.2', undefined)).toBe('v1.31.2+k0s.0');
    expect(normalizeControllerVersion(undefined, 'v1.31.2-k0s.1')).toBe('v1.31.2-k0s.1+k0s.0');
  });

  it('is undefined when neither is given', () => {
    expect(normalizeControllerVersion(undefined, undefined)).toBeUndefined();
    expect(normalizeControllerVersion('', '')).toBeUndefined();
  });
});

describe('k0s versions', () => {
  it('parses as k0sproject/version does and prints the canonical form', () => {
    expect(formatK0sVersion(version('v1.31.6+k0s.0'))).toBe('v1.31.6+k0s.0');
    expect(formatK0sVersion(version('1.31'))).toBe('v1.31.0');
    expect(formatK0sVersion(version('v1.31.05+k0s.0'))).toBe('v1.31.5+k0s.0');
    expect(formatK0sVersion(version('vv1.31.5'))).toBe('v1.31.5');
    expect(formatK0sVersion(version('v1.31.6beta'))).toBe('v1.31.6-beta');
    expect(formatK0sVersion(version('v1.31.6-k0s.0+k0s.0'))).toBe('v1.31.6-k0s.0+k0s.0');
  });

  it('rejects what go-version rejects, with its message', () => {
    expect(error(parseK0sVersion(''))).toBe('Malformed version: ');
    expect(error(parseK0sVersion('vgarbage'))).toBe('Malformed version: garbage');
    expect(error(parseK0sVersion('v1.31.6+k0s.0+k0s.0'))).toBe('Malformed version: 1.31.6+k0s.0+k0s.0');
    expect(error(parseK0sVersion('v99999999999999999999.0.0'))).toBe(
      'Error parsing version: strconv.ParseInt: parsing "99999999999999999999": value out of range'
    );
  });

  // Expected values printed by k0sproject/version v0.6.0's Compare.
  it.each([
    ['v1.2.3-rc.1', 'v1.2.3-rc.2', -1],
    ['v1.2.3-rc.10', 'v1.2.3-rc.9', 1],
    ['v1.2.3-alpha', 'v1.2.3-1', 1],
    ['v1.2.3-1', 'v1.2.3-alpha', -1],
    ['v1.2.3-rc', 'v1.2.3-rc.1', -1],
    ['v1.2.3-rc.a', 'v1.2.3-rc', -1],
    ['v1.2.3+k0s.1', 'v1.2.3+k0s.0', 1],
    ['v1.2.3', 'v1.2.3.0', -1],
    ['v1.2.3.1', 'v1.2.3', 1],
    ['v1.31.6', '1.31.6', 0],
  ])('compares %s with %s as %d', (a, b, expected) => {
    expect(compareK0sVersions(version(a), version(b))).toBe(expected);
  });

  it.each([
    ['v1.31.5+k0s.1', true],
    ['v1.31.6-rc.1+k0s.0', true],
    ['v1.31', true],
    ['v1.30.0', true],
    ['v1.31.6', false],
    ['v1.31.6+k0s.0', false],
    ['v1.31.6.0', false],
    ['v1.31.7+k0s.0', false],
    ['v1.32.0-alpha.1+k0s.0', false],
  ])('%s needs the k0sleave hook: %s', (text, expected) => {
    expect(needsK0sLeaveHook(text)).toBe(expected);
  });

  it('has no answer for an unparseable version', () => {
    expect(needsK0sLeaveHook('latest')).toBeUndefined();
    expect(isK0sVersionBefore('v1.30.0', 'nope')).toBeUndefined();
    expect(isK0sVersionBefore('v1.30.0', 'v1.30.1')).toBe(true);
  });
});

describe('controllerInstallCommand', () => {
  const base = 'k0s install controller --force --enable-dynamic-config ';

  it('matches k0smotron: default config', () => {
    expect(
      controllerInstallCommand({ k0sInstallDir: '', configName: 'test', machineName: 'test-machine' })
    ).toBe(base + '--env AUTOPILOT_HOSTNAME=test');
  });

  it('matches k0smotron: with args', () => {
    expect(
      controllerInstallCommand({
        k0sInstallDir: '',
        configName: 'test',
        machineName: 'test-machine',
        args: ['--enable-worker', '--labels=k0sproject.io/foo=bar'],
      })
    ).toBe(
      base +
        '--env AUTOPILOT_HOSTNAME=test --labels=k0smotron.io/machine-name=test-machine --enable-worker --labels=k0sproject.io/foo=bar --kubelet-extra-args="--hostname-override=test-machine"'
    );
  });

  it('enables the worker parts only for --enable-worker, --enable-worker=true and --single', () => {
    expect(controllerWorkerEnabled(['--enable-worker'])).toBe(true);
    expect(controllerWorkerEnabled(['--enable-worker=true'])).toBe(true);
    expect(controllerWorkerEnabled(['--single'])).toBe(true);
    expect(controllerWorkerEnabled(['--enable-worker=false', '--single=true', '--no-taints'])).toBe(false);
    expect(controllerWorkerEnabled(undefined)).toBe(false);
    expect(
      controllerInstallCommand({
        configName: 'c',
        machineName: 'm',
        args: ['--single'],
        k0sInstallDir: '/usr/local/bin',
      })
    ).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=c --labels=k0smotron.io/machine-name=m --single --kubelet-extra-args="--hostname-override=m"'
    );
    expect(
      controllerInstallCommand({ configName: 'c', machineName: 'm', args: ['--enable-worker=false'] })
    ).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=c --enable-worker=false'
    );
  });

  it('keeps the label but drops the hostname override with useSystemHostname', () => {
    expect(
      controllerInstallCommand({
        configName: 'c',
        machineName: 'm',
        args: ['--enable-worker=true'],
        useSystemHostname: true,
      })
    ).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=c --labels=k0smotron.io/machine-name=m --enable-worker=true'
    );
  });

  it('folds --kubelet-extra-args even without a worker, quotes trimmed', () => {
    expect(
      controllerInstallCommand({
        configName: 'c',
        machineName: 'm',
        args: ['--kubelet-extra-args=--node-ip=10.0.0.1', '--debug', "--kubelet-extra-args '--v 4'"],
      })
    ).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=c --debug --kubelet-extra-args="--node-ip=10.0.0.1 --v 4"'
    );
  });

  it("cuts a space-separated --kubelet-extra-args at its first '=' as k0smotron does", () => {
    expect(
      controllerInstallCommand({ configName: 'c', machineName: 'm', args: ["--kubelet-extra-args '--v=4'"] })
    ).toMatch(/ --kubelet-extra-args="4"$/);
  });

  it('puts --config after the args, then the kubelet args, then --token-file', () => {
    expect(
      controllerInstallCommand({
        k0sInstallDir: '/opt/bin/',
        configName: 'c',
        machineName: 'm',
        args: ['--enable-worker', '--kubelet-extra-args="--max-pods=50"', '--debug'],
        configPath: '/etc/k0s.yaml',
        tokenPath: '/etc/k0s.token',
      })
    ).toBe(
      '/opt/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=c --labels=k0smotron.io/machine-name=m --enable-worker --debug --config /etc/k0s.yaml --kubelet-extra-args="--hostname-override=m --max-pods=50" --token-file /etc/k0s.token'
    );
  });
});

describe('k0sleave hook', () => {
  it('registers with the commands k0smotron tests for', () => {
    expect(k0sLeaveCommands(undefined)).toEqual(LEAVE_COMMANDS);
    expect(k0sLeaveCommands('')).toEqual(LEAVE_COMMANDS);
  });

  it('writes the script (0777) and three units (0644) under /etc/k0s by default', () => {
    const files = k0sLeaveFiles(undefined, '/usr/local/bin');
    expect(files.map((f) => [f.path, f.permissions])).toEqual([
      ['/etc/bin/k0sleave.sh', '0777'],
      ['/etc/k0s/k0sleave.service', '0644'],
      ['/etc/k0s/k0sleave-openrc', '0644'],
      ['/etc/k0s/k0sleave-sysv', '0644'],
    ]);
    expect(files[0]?.content).toBe(
      '#!/bin/sh\n\n' +
        'PID=$(/usr/local/bin/k0s status | grep "Process ID" | awk \'{print $3}\')\n' +
        "AUTOPILOT_HOSTNAME=$(tr '\\0' '\\n' < /proc/$PID/environ | grep AUTOPILOT_HOSTNAME)\n" +
        'MACHINE_NAME=${AUTOPILOT_HOSTNAME#"AUTOPILOT_HOSTNAME="}\n\n' +
        "IS_LEAVING=$(/usr/local/bin/k0s kc get controlnodes $MACHINE_NAME -o jsonpath='{.metadata.annotations.k0smotron\\.io/leave}')\n\n" +
        'if [ $IS_LEAVING = "true" ]; then\n' +
        '    until /usr/local/bin/k0s etcd leave; do\n' +
        '        sleep 1\n' +
        '    done\n' +
        'fi\n'
    );
    expect(files[1]?.content).toContain(
      'ExecStop=/etc/bin/k0sleave.sh\nTimeoutStartSec=0\nTimeoutStopSec=180\n'
    );
    expect(files[1]?.content.endsWith('WantedBy=multi-user.target\n')).toBe(true);
    expect(files[2]?.content).toBe(
      '#!/sbin/openrc-run\n\nname="k0sleave"\ndescription="k0s etcd leave service"\ncommand="/etc/bin/k0sleave.sh"\n\t\t'
    );
    expect(files[3]?.content.startsWith('#!/bin/sh\n# For RedHat and cousins:\n# chkconfig: - 99 01\n')).toBe(
      true
    );
    expect(files[3]?.content).toContain('\ncmd="/etc/bin/k0sleave.sh"\n');
    expect(files[3]?.content.endsWith('    ;;\nesac\nexit 0')).toBe(true);
  });

  it('uses the working directory verbatim and the install dir for k0s', () => {
    const files = k0sLeaveFiles('/var/lib/k0sflow/', '/opt/k0s');
    expect(files.map((f) => f.path)).toEqual([
      '/etc/bin/k0sleave.sh',
      '/var/lib/k0sflow//k0sleave.service',
      '/var/lib/k0sflow//k0sleave-openrc',
      '/var/lib/k0sflow//k0sleave-sysv',
    ]);
    expect(files[0]?.content).toContain('until /opt/k0s/k0s etcd leave; do');
    expect(k0sLeaveCommands('/srv')[1]).toBe(
      '(command -v rc-service > /dev/null 2>&1 && (cp /srv/k0sleave-openrc /etc/init.d/k0sleave && rc-update add k0sleave shutdown) || true)'
    );
  });
});

describe('controller PKI', () => {
  const all: Record<string, Record<string, string>> = {
    'c1-ca': { 'tls.crt': 'CA', 'tls.key': 'CAKEY' },
    'c1-etcd': { 'tls.crt': 'ETCD', 'tls.key': 'ETCDKEY' },
    'c1-proxy': { 'tls.crt': 'PROXY', 'tls.key': 'PROXYKEY' },
    'c1-sa': { 'tls.crt': 'SAPUB', 'tls.key': 'SAKEY' },
  };

  it('lists the eight files and their Secret keys in Cluster API order', () => {
    expect(CONTROLLER_PKI_FILES.map((f) => `${f.path} <- ${f.secretSuffix}/${f.key}`)).toEqual([
      '/var/lib/k0s/pki/ca.crt <- ca/tls.crt',
      '/var/lib/k0s/pki/ca.key <- ca/tls.key',
      '/var/lib/k0s/pki/etcd/ca.crt <- etcd/tls.crt',
      '/var/lib/k0s/pki/etcd/ca.key <- etcd/tls.key',
      '/var/lib/k0s/pki/front-proxy-ca.crt <- proxy/tls.crt',
      '/var/lib/k0s/pki/front-proxy-ca.key <- proxy/tls.key',
      '/var/lib/k0s/pki/sa.pub <- sa/tls.crt',
      '/var/lib/k0s/pki/sa.key <- sa/tls.key',
    ]);
  });

  it('reads the files from <cluster>-ca, -etcd, -proxy and -sa', () => {
    const result = controllerPkiFiles('c1', (name) => all[name]);
    if (!result.ok) throw new Error(result.error);
    expect(result.pki.map((f) => f.content)).toEqual([
      'CA',
      'CAKEY',
      'ETCD',
      'ETCDKEY',
      'PROXY',
      'PROXYKEY',
      'SAPUB',
      'SAKEY',
    ]);
  });

  it('leaves out a missing Secret and an empty or missing key, without generating anything', () => {
    const partial: Record<string, Record<string, string>> = {
      'c1-ca': { 'tls.crt': 'CA', 'tls.key': '' },
      'c1-proxy': { 'tls.crt': 'PROXY' },
      'c1-sa': { 'tls.crt': 'SAPUB', 'tls.key': 'SAKEY' },
    };
    const result = controllerPkiFiles('c1', (name) => partial[name]);
    if (!result.ok) throw new Error(result.error);
    expect(result.pki.map((f) => f.path)).toEqual([
      '/var/lib/k0s/pki/ca.crt',
      '/var/lib/k0s/pki/front-proxy-ca.crt',
      '/var/lib/k0s/pki/sa.pub',
      '/var/lib/k0s/pki/sa.key',
    ]);
  });

  it('fails on a Secret without tls.crt, in lookup order (ca, sa, proxy, etcd)', () => {
    const broken = { 'tls.key': 'K' };
    expect(error(controllerPkiFiles('c1', (name) => (name === 'c1-ca' ? all[name] : broken)))).toBe(
      'failed to read keypair from certificate c1-sa: missing data for key tls.crt'
    );
  });
});

describe('serializeK0sConfig', () => {
  it('writes JSON as Go encodes an unstructured object: sorted keys, HTML escaped, newline', () => {
    expect(
      serializeK0sConfig({
        spec: { z: 1, api: { sans: ['<a>&b'], k0sApiPort: 9443 }, f: 1.5e-7 },
        kind: 'ClusterConfig',
        apiVersion: 'k0s.k0sproject.io/v1beta1',
        s: '\u2028é',
      })
    ).toBe(
      '{"apiVersion":"k0s.k0sproject.io/v1beta1","kind":"ClusterConfig","s":"\\u2028é",' +
        '"spec":{"api":{"k0sApiPort":9443,"sans":["\\u003ca\\u003e\\u0026b"]},"f":1.5e-7,"z":1}}\n'
    );
  });
});

describe('planControllerBootstrap', () => {
  it('plans a first controller below v1.31.6 in k0smotron order', () => {
    const b = bootstrap(plan({ version: 'v1.31.0' }));
    expect(b.files.map((f) => [f.path, f.permissions])).toEqual([
      ['/var/lib/k0s/pki/ca.crt', '0644'],
      ['/var/lib/k0s/pki/ca.key', '0644'],
      ['/etc/bin/k0sleave.sh', '0777'],
      ['/etc/k0s/k0sleave.service', '0644'],
      ['/etc/k0s/k0sleave-openrc', '0644'],
      ['/etc/k0s/k0sleave-sysv', '0644'],
    ]);
    expect(b.files[0]?.content).toBe('CA CRT');
    expect(b.commands).toEqual([
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin K0S_VERSION=v1.31.0+k0s.0 sh',
      ...LEAVE_COMMANDS,
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0',
      '/usr/local/bin/k0s start',
      WORKER_SENTINEL_COMMAND,
    ]);
  });

  it('has no k0sleave hook from v1.31.6 on', () => {
    for (const v of ['v1.31.6', 'v1.31.6+k0s.0', 'v1.32.1+k0s.0']) {
      const b = bootstrap(plan({ version: v }));
      expect(b.files.map((f) => f.path)).toEqual(['/var/lib/k0s/pki/ca.crt', '/var/lib/k0s/pki/ca.key']);
      expect(b.commands).toHaveLength(4);
      expect(b.commands[1]).toMatch(/^\/usr\/local\/bin\/k0s install controller /);
    }
  });

  it('takes the Machine version when spec.version is unset', () => {
    const b = bootstrap(plan({}, { machineVersion: 'v1.31.5' }));
    expect(b.commands[0]).toContain('K0S_VERSION=v1.31.5+k0s.0 sh');
    expect(b.commands.slice(1, 4)).toEqual(LEAVE_COMMANDS);
  });

  it('fails, as k0smotron does, when there is no version or it does not parse', () => {
    expect(error(plan({}))).toBe('error parsing k0s version: Malformed version: ');
    expect(error(plan({ version: 'latest' }))).toBe(
      'error parsing k0s version: Malformed version: latest+k0s.0'
    );
  });

  it('writes the token (0600) and --token-file for a joining controller, and no PKI', () => {
    const b = bootstrap(plan({ version: 'v1.32.0' }, { role: { kind: 'joining', token: 'H4sI' } }));
    expect(b.files).toEqual([{ path: '/etc/k0s.token', content: 'H4sI', permissions: '0600' }]);
    expect(b.commands[1]).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0 --token-file /etc/k0s.token'
    );
  });

  it('writes k0s.yaml (0644) first and passes --config when a ClusterConfig is given', () => {
    const k0sConfig = { apiVersion: 'k0s.k0sproject.io/v1beta1', kind: 'ClusterConfig' };
    const b = bootstrap(
      plan(
        { version: 'v1.32.0', args: ['--enable-worker'] },
        { role: { kind: 'joining', token: 'T' }, k0sConfig }
      )
    );
    expect(b.files).toEqual([
      { path: '/etc/k0s.yaml', content: serializeK0sConfig(k0sConfig), permissions: '0644' },
      { path: '/etc/k0s.token', content: 'T', permissions: '0600' },
    ]);
    expect(b.commands[1]).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0 --labels=k0smotron.io/machine-name=cp-0-machine --enable-worker --config /etc/k0s.yaml --kubelet-extra-args="--hostname-override=cp-0-machine" --token-file /etc/k0s.token'
    );
  });

  it('puts k0s.yaml, the token and the k0sleave units under workingDir', () => {
    const b = bootstrap(
      plan(
        { version: 'v1.30.2+k0s.0', workingDir: '/var/lib/k0sflow' },
        { role: { kind: 'joining', token: 'T' }, k0sConfig: {} }
      )
    );
    expect(b.files.map((f) => f.path)).toEqual([
      '/var/lib/k0sflow/k0s.yaml',
      '/var/lib/k0sflow/k0s.token',
      '/etc/bin/k0sleave.sh',
      '/var/lib/k0sflow/k0sleave.service',
      '/var/lib/k0sflow/k0sleave-openrc',
      '/var/lib/k0sflow/k0sleave-sysv',
    ]);
    expect(b.files[0]?.content).toBe('{}\n');
    expect(b.commands[1]).toContain('cp /var/lib/k0sflow/k0sleave.service /etc/systemd/system/');
    expect(b.commands[4]).toContain(
      ' --config /var/lib/k0sflow/k0s.yaml --token-file /var/lib/k0sflow/k0s.token'
    );
  });

  it('writes user files after the role files and before the k0sleave files', () => {
    const b = bootstrap(
      plan(
        { version: 'v1.31.0' },
        {
          role: { kind: 'first', pki: [] },
          files: [
            { path: '/etc/a', content: 'a' },
            { path: '/etc/b', content: 'b', permissions: '0400' },
          ],
        }
      )
    );
    expect(b.files.slice(0, 3).map((f) => [f.path, f.content, f.permissions])).toEqual([
      ['/etc/a', 'a', ''],
      ['/etc/b', 'b', '0400'],
      ['/etc/bin/k0sleave.sh', b.files[2]?.content, '0777'],
    ]);
  });

  it('runs preStartCommands first and postStartCommands before the sentinel', () => {
    const b = bootstrap(
      plan({
        version: 'v1.32.0',
        preStartCommands: ['echo pre1', 'echo pre2'],
        postStartCommands: ['echo post'],
      })
    );
    expect(b.commands).toEqual([
      'echo pre1',
      'echo pre2',
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin K0S_VERSION=v1.32.0+k0s.0 sh',
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0',
      '/usr/local/bin/k0s start',
      'echo post',
      WORKER_SENTINEL_COMMAND,
    ]);
  });

  it('skips the download for a pre-installed k0s', () => {
    const b = bootstrap(plan({ version: 'v1.32.0', preInstalledK0s: true }));
    expect(b.commands[0]).toMatch(/ install controller /);
  });

  it('downloads from an http(s) or oci downloadURL and rejects other schemes', () => {
    expect(
      bootstrap(plan({ version: 'v1.32.0', downloadURL: 'https://example.com/k0s' })).commands.slice(0, 2)
    ).toEqual([
      'curl -sSfL --retry 5 https://example.com/k0s -o /usr/local/bin/k0s',
      'chmod +x /usr/local/bin/k0s',
    ]);
    expect(
      bootstrap(plan({ version: 'v1.32.0', downloadURL: 'oci://registry.io/k0s@sha256:abc' })).commands.slice(
        0,
        3
      )
    ).toEqual([
      'export HOME=/root',
      'oras blob fetch --output /usr/local/bin/k0s registry.io/k0s@sha256:abc',
      'chmod +x /usr/local/bin/k0s',
    ]);
    expect(error(plan({ version: 'v1.32.0', downloadURL: 'ftp://example.com/k0s' }))).toBe(
      "downloadURL: unsupported URL scheme 'ftp'"
    );
  });

  it('uses k0sInstallDir for the download, install, start and the k0sleave script', () => {
    const b = bootstrap(plan({ version: 'v1.31.0', k0sInstallDir: '/opt/k0s' }));
    expect(b.commands[0]).toBe(
      'curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/opt/k0s K0S_VERSION=v1.31.0+k0s.0 sh'
    );
    expect(b.commands[4]).toMatch(/^\/opt\/k0s\/k0s install controller /);
    expect(b.commands[5]).toBe('/opt/k0s/k0s start');
    expect(b.files.find((f) => f.path === '/etc/bin/k0sleave.sh')?.content).toContain(
      'PID=$(/opt/k0s/k0s status'
    );
  });

  it('honours useSystemHostname for a worker-enabled controller', () => {
    const b = bootstrap(plan({ version: 'v1.32.0', args: ['--single'], useSystemHostname: true }));
    expect(b.commands[1]).toBe(
      '/usr/local/bin/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0 --labels=k0smotron.io/machine-name=cp-0-machine --single'
    );
  });

  it('refuses tunneling, which k0sflow does not build', () => {
    expect(error(plan({ version: 'v1.32.0', tunneling: { enabled: true } }))).toBe(
      'spec.tunneling is not supported by k0sflow'
    );
    expect(bootstrap(plan({ version: 'v1.32.0', tunneling: { enabled: false } })).commands).toHaveLength(4);
  });

  it('gives a document that round-trips through parseBootstrapData', () => {
    const b = bootstrap(
      plan(
        { version: 'v1.31.0', postStartCommands: ['echo done: "yes"'] },
        { k0sConfig: { spec: { a: '<b>' } } }
      )
    );
    const parsed = parseBootstrapData(workerCloudConfig(b));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.plan.commands).toEqual(b.commands);
    expect(parsed.plan.files.map((f) => [f.path, f.content, f.mode.toString(8)])).toEqual(
      b.files.map((f) => [f.path, f.content, f.permissions.slice(1)])
    );
  });
});

describe('choosing the first controller', () => {
  const m = (name: string, creationTimestamp: string, rest: Partial<ControllerMachine> = {}) => ({
    name,
    creationTimestamp,
    ...rest,
  });

  it('is the oldest Machine, by name on equal timestamps, compared with the config name', () => {
    const machines = [
      m('cp-b', '2026-01-01T00:00:00Z'),
      m('cp-a', '2026-01-01T00:00:00Z'),
      m('cp-c', '2026-01-02T00:00:00Z'),
    ];
    expect(isFirstController('cp-a', machines)).toBe(true);
    expect(isFirstController('cp-b', machines)).toBe(false);
    expect(
      isFirstController('cp-c', [m('cp-d', '2026-01-03T00:00:00Z'), m('cp-c', '2025-12-31T23:59:59Z')])
    ).toBe(true);
    expect(isFirstController('cp-a', [])).toBe(false);
  });

  it('joins through the oldest other Machine that is not Pending', () => {
    const machines = [
      m('cp-2', '2026-01-03T00:00:00Z', { version: 'v1.32.0' }),
      m('cp-0', '2026-01-01T00:00:00Z', { version: 'v1.32.0', phase: 'Pending' }),
      m('cp-1', '2026-01-02T00:00:00Z', { version: 'v1.32.0' }),
      m('cp-3', '2026-01-04T00:00:00Z', { version: 'v1.32.0' }),
    ];
    expect(firstRunningControllerMachine('cp-3', machines)?.name).toBe('cp-2');
    expect(
      firstRunningControllerMachine(
        'cp-3',
        [machines[0]!].map((x) => ({ ...x, name: 'cp-3' }))
      )
    ).toBeUndefined();
  });

  it("keeps k0smotron's ordering: an older Machine counts as smaller only with a smaller version too", () => {
    const machines = [
      m('new', '2026-01-02T00:00:00Z', { version: 'v1.31.0' }),
      m('old', '2026-01-01T00:00:00Z', { version: 'v1.32.0' }),
    ];
    expect(firstRunningControllerMachine('x', machines)?.name).toBe('new');
    expect(firstRunningControllerMachine('x', [...machines].reverse())?.name).toBe('old');
  });
});

describe('join server', () => {
  it('stops at the first ExternalIP or IPv4 InternalIP', () => {
    expect(
      pickControllerAddress([
        { type: 'Hostname', address: 'cp-1' },
        { type: 'ExternalIP', address: '203.0.113.5' },
        { type: 'InternalIP', address: '10.0.0.5' },
      ])
    ).toBe('203.0.113.5');
    expect(
      pickControllerAddress([
        { type: 'InternalIP', address: '10.0.0.5' },
        { type: 'ExternalIP', address: '203.0.113.5' },
      ])
    ).toBe('10.0.0.5');
  });

  it('falls back to the last IPv6 InternalIP, canonical, bracketed, without zone', () => {
    expect(
      pickControllerAddress([
        { type: 'InternalIP', address: 'fe80::1%eth0' },
        { type: 'InternalIP', address: '2001:DB8:0:0:1:0:0:1' },
        { type: 'InternalIP', address: '010.0.0.1' },
      ])
    ).toBe('[2001:db8::1:0:0:1]');
    expect(pickControllerAddress([{ type: 'InternalIP', address: '::ffff:10.0.0.1' }])).toBe(
      '[::ffff:10.0.0.1]'
    );
    expect(pickControllerAddress([{ type: 'InternalIP', address: 'fe80::1%eth0' }])).toBe('[fe80::1]');
  });

  it('skips addresses Go cannot parse and gives nothing without a usable one', () => {
    expect(pickControllerAddress([{ type: 'InternalIP', address: '256.1.1.1' }])).toBeUndefined();
    expect(pickControllerAddress([{ type: 'InternalIP', address: '1::2::3' }])).toBeUndefined();
    expect(pickControllerAddress([{ type: 'InternalIP', address: 'fe80::1%' }])).toBeUndefined();
    expect(pickControllerAddress([{ type: 'InternalDNS', address: 'cp-1.local' }])).toBeUndefined();
    expect(pickControllerAddress([])).toBeUndefined();
  });

  it('uses spec.api.k0sApiPort when positive, else 9443', () => {
    expect(controllerJoinPort(undefined)).toEqual({ ok: true, port: 9443 });
    expect(controllerJoinPort({ spec: { api: {} } })).toEqual({ ok: true, port: 9443 });
    expect(controllerJoinPort({ spec: { api: { k0sApiPort: 9999 } } })).toEqual({ ok: true, port: 9999 });
    expect(controllerJoinPort({ spec: { api: { k0sApiPort: 0 } } })).toEqual({ ok: true, port: 9443 });
    expect(error(controllerJoinPort({ spec: { api: { k0sApiPort: '9999' } } }))).toMatch(
      /^error retrieving k0sAPIPort: /
    );
    expect(error(controllerJoinPort({ spec: 'x' }))).toMatch(/^error retrieving k0sAPIPort: \.spec\.api /);
  });

  it('builds https URLs, bracketing bare IPv6 literals', () => {
    expect(joinServerURL('cp.example.com', 9443)).toBe('https://cp.example.com:9443');
    expect(joinServerURL('10.0.0.1', 9443)).toBe('https://10.0.0.1:9443');
    expect(joinServerURL('2001:db8::1', 9443)).toBe('https://[2001:db8::1]:9443');
    expect(joinServerURL('[2001:db8::1]', 9443)).toBe('https://[2001:db8::1]:9443');
  });

  it('offers the endpoint first and the first controller as fallback', () => {
    expect(
      controllerJoinServerCandidates({
        endpointHost: 'cp.example.com',
        k0sConfig: { spec: { api: { k0sApiPort: 9444 } } },
        machineAddresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
        infraAddresses: [{ type: 'ExternalIP', address: '203.0.113.5' }],
      })
    ).toEqual({
      ok: true,
      candidates: { endpoint: 'https://cp.example.com:9444', fallback: 'https://10.0.0.5:9444' },
    });
  });

  it("consults the infrastructure machine's addresses only when the Machine has none", () => {
    const result = controllerJoinServerCandidates({
      endpointHost: '10.0.0.100',
      machineAddresses: [{ type: 'Hostname', address: 'cp-1' }],
      infraAddresses: [{ type: 'InternalIP', address: '2001:db8::5' }],
    });
    expect(result).toEqual({
      ok: true,
      candidates: { endpoint: 'https://10.0.0.100:9443', fallback: 'https://[2001:db8::5]:9443' },
    });
    expect(controllerJoinServerCandidates({ endpointHost: 'h' })).toEqual({
      ok: true,
      candidates: { endpoint: 'https://h:9443', fallback: undefined },
    });
    expect(
      error(controllerJoinServerCandidates({ endpointHost: 'h', k0sConfig: { spec: { api: 5 } } }))
    ).toMatch(/^error retrieving k0sAPIPort/);
  });
});
