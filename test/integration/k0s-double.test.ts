// The k0s TEST DOUBLE (test/k0s-double/k0s — not k0s) on a real proving-ground host: downloaded the
// way k0smotron's cloud-init downloads k0s, then driven through k0smotron's worker flow (install,
// the start chain of its cloud-init, status) and the parts of cleanup the double implements.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Client } from 'ssh2';

import { provingGround } from '../harness/env.js';
import { CLEAN_HOST, connectHost as connect, parseCalls, runOn as run } from '../harness/hosts.js';
// k0smotron v1.10.9 worker start command (design doc section 4.6), verbatim.
import { START_CHAIN } from '../harness/machines.js';

const K0S = '/usr/local/bin/k0s';
const TOKEN = '/etc/k0s.token';
const KUBELET_DIR = '/var/lib/kubelet-k0s-double-test';
const INSTALL = `${K0S} install worker --token-file ${TOKEN} --labels=k0smotron.io/machine-name=m0`;
describe('k0s test double on a proving-ground host', () => {
  const env = provingGround();
  const host = env.hosts[0];
  let conn: Client;

  beforeAll(async () => {
    if (!host) throw new Error('this test needs at least one SSH host (K0SFLOW_PG_HOSTS >= 1)');
    conn = await connect(host);
    await run(conn, CLEAN_HOST);
  });

  afterAll(async () => {
    if (!conn) return;
    // Leave host 0 as we found it for other tests.
    await run(conn, CLEAN_HOST);
    conn.end();
  });

  it('is served on the gateway address and env.json says where', () => {
    expect(env.gatewayAddress).toMatch(/^10\.213\.\d+\.1$/);
    expect(env.ports.k0sDouble).toEqual(expect.any(Number));
    expect(env.k0sDownloadURL).toBe(`http://${env.gatewayAddress}:${env.ports.k0sDouble}/k0s`);
  });

  it("runs k0smotron's worker flow: download, install, start chain, status; refuses what k0s refuses", async () => {
    // Download exactly as k0smotron's cloud-init does (design doc section 4.4).
    const download = await run(
      conn,
      `curl -sSfL --retry 5 ${env.k0sDownloadURL} -o ${K0S} && chmod +x ${K0S}`
    );
    expect(download).toEqual({ code: 0, stdout: '', stderr: '' });
    const httpLog = readFileSync(
      join(dirname(process.env.K0SFLOW_PG_ENV!), 'logs', 'k0s-double-http.log'),
      'utf8'
    );
    expect(httpLog).toContain(`${host!.address} GET /k0s 200`);
    const head = await run(conn, `head -n 3 ${K0S}`);
    expect(head.stdout).toContain('THIS IS A TEST DOUBLE OF k0s. IT IS NOT k0s.');

    const version = await run(conn, 'k0s version');
    expect(version).toEqual({ code: 0, stdout: 'v1.27.2+k0s.0\n', stderr: '' });

    // Cloud-init writes the token file (write_files, 0600) before runcmd.
    expect(
      (await run(conn, `printf %s 'H4sIAAAAAAAC/k0s-double-token' > ${TOKEN} && chmod 600 ${TOKEN}`)).code
    ).toBe(0);
    const install = await run(conn, INSTALL);
    expect(install).toMatchObject({ code: 0, stderr: '' });
    expect((await run(conn, 'test -x /etc/init.d/k0sworker')).code).toBe(0);

    // No systemd, no OpenRC on the hosts: the chain must reach Debian's `service`, which runs the
    // SysV script the double installed.
    expect((await run(conn, 'command -v systemctl; command -v rc-service; true')).stdout).toBe('');
    const start = await run(conn, START_CHAIN);
    expect(start.code).toBe(0);
    expect(start.stdout).not.toContain('Not a supported init system');

    const status = await run(conn, 'k0s status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Version: v1.27.2+k0s.0\n');
    expect(status.stdout).toContain('Role: worker\n');
    expect(status.stdout).toContain('Workloads: true\n');
    const pid = /^Process ID: (\d+)$/m.exec(status.stdout)?.[1];
    expect(pid).toMatch(/^[1-9]\d*$/);
    expect((await run(conn, `ps -o comm= -p ${pid}`)).stdout.trim()).toBe('k0s-double');

    // Exactly what the host was asked, in order, by whom.
    let log = parseCalls((await run(conn, 'cat /var/lib/k0s-double/calls.log')).stdout);
    expect(log.calls).toEqual([
      { uid: '0', via: 'cli', argv: `${K0S} version` },
      { uid: '0', via: 'cli', argv: INSTALL },
      { uid: '0', via: 'service:k0sworker', argv: `${K0S} start` },
      { uid: '0', via: 'cli', argv: `${K0S} status` },
    ]);

    // A second install is refused (real k0s: the service exists) and changes nothing.
    const again = await run(
      conn,
      `${K0S} install worker --token-file ${TOKEN} --labels=k0smotron.io/machine-name=m1`
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error: Init already exists');
    const state = await run(conn, 'cat /var/lib/k0s-double/state');
    expect(state.stdout).toContain('labels=k0smotron.io/machine-name=m0\n');
    expect(state.stdout).not.toContain('machine-name=m1');

    // Only a controller has an etcd member to leave; unknown commands fail.
    expect((await run(conn, 'k0s etcd leave')).code).toBe(1);
    const unknown = await run(conn, 'k0s frobnicate --now');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command');

    // reset refuses while running and leaves everything in place.
    const busy = await run(conn, 'k0s reset');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('k0s seems to be running! please stop k0s before reset.');
    expect((await run(conn, 'test -f /var/lib/k0s-double/state')).code).toBe(0);
    expect((await run(conn, 'k0s status')).code).toBe(0);

    // stop, then reset succeeds and removes the state, the service script and the kubelet dir.
    expect((await run(conn, 'k0s stop')).code).toBe(0);
    expect((await run(conn, 'k0s status')).code).toBe(1);
    expect((await run(conn, `ps -o stat= -p ${pid}; true`)).stdout.trim()).toMatch(/^Z?$/);
    expect((await run(conn, `mkdir -p ${KUBELET_DIR}/pods/p0 && touch ${KUBELET_DIR}/pods/p0/f`)).code).toBe(
      0
    );
    const reset = await run(conn, `k0s reset --kubelet-root-dir ${KUBELET_DIR}`);
    expect(reset.code).toBe(0);
    for (const gone of ['/var/lib/k0s-double/state', '/etc/init.d/k0sworker', KUBELET_DIR])
      expect({ gone, code: (await run(conn, `test -e ${gone}`)).code }).toEqual({ gone, code: 1 });
    expect((await run(conn, 'k0s status')).code).toBe(1);

    log = parseCalls((await run(conn, 'cat /var/lib/k0s-double/calls.log')).stdout);
    expect(log.calls.slice(4)).toEqual([
      {
        uid: '0',
        via: 'cli',
        argv: `${K0S} install worker --token-file ${TOKEN} --labels=k0smotron.io/machine-name=m1`,
      },
      { uid: '0', via: 'cli', argv: `${K0S} etcd leave` },
      { uid: '0', via: 'cli', argv: `${K0S} frobnicate --now` },
      { uid: '0', via: 'cli', argv: `${K0S} reset` },
      { uid: '0', via: 'cli', argv: `${K0S} status` },
      { uid: '0', via: 'cli', argv: `${K0S} stop` },
      { uid: '0', via: 'cli', argv: `${K0S} status` },
      { uid: '0', via: 'cli', argv: `${K0S} reset --kubelet-root-dir ${KUBELET_DIR}` },
      { uid: '0', via: 'cli', argv: `${K0S} status` },
    ]);
    expect(log.notes).toContain(`reset: removed kubelet root dir ${KUBELET_DIR}`);
    expect(log.notes).toContain('reset: removed state /var/lib/k0s-double/state');
  });

  it("takes k0smotron's controller install (always --force), leaves etcd, starts with k0s start", async () => {
    expect(
      (
        await run(
          conn,
          `${CLEAN_HOST}; test ! -e /var/lib/k0s-double && echo '{}' > /etc/k0s-double-test.yaml`
        )
      ).code
    ).toBe(0);
    expect(
      (await run(conn, `curl -sSfL --retry 5 ${env.k0sDownloadURL} -o ${K0S} && chmod +x ${K0S}`)).code
    ).toBe(0);
    const install =
      `${K0S} install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp0 ` +
      '--config /etc/k0s-double-test.yaml';
    expect((await run(conn, install)).code).toBe(0);
    expect((await run(conn, install)).code).toBe(0); // --force: a second install is fine
    const missing = await run(conn, `${K0S} install controller --force --config /etc/nope.yaml`);
    expect(missing.code).toBe(1);
    expect((await run(conn, `${K0S} start`)).code).toBe(0);
    const status = await run(conn, 'k0s status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Role: controller\n');
    expect(status.stdout).toContain('Workloads: false\n');
    expect((await run(conn, 'k0s etcd leave')).code).toBe(0);
    expect((await run(conn, 'service k0scontroller stop')).code).toBe(0);
    expect((await run(conn, 'k0s status')).code).toBe(1);
    expect((await run(conn, 'k0s reset')).code).toBe(0);
    expect((await run(conn, 'test -e /etc/init.d/k0scontroller')).code).toBe(1);
    const log = parseCalls((await run(conn, 'cat /var/lib/k0s-double/calls.log')).stdout);
    expect(log.calls.map((c) => `${c.via} ${c.argv}`)).toEqual([
      `cli ${install}`,
      `cli ${install}`,
      `cli ${K0S} install controller --force --config /etc/nope.yaml`,
      `cli ${K0S} start`,
      `cli ${K0S} status`,
      `cli ${K0S} etcd leave`,
      `service:k0scontroller ${K0S} stop`,
      `cli ${K0S} status`,
      `cli ${K0S} reset`,
    ]);
    await run(conn, 'rm -f /etc/k0s-double-test.yaml');
  });
});
