import {
  BOOTSTRAP_SENTINEL,
  fileExistsCommand,
  formatMode,
  installScript,
  installScriptFile,
  installScriptPath,
  parentDir,
  parseBootstrapData,
  parsePermissions,
  shellQuote,
  uploadScript,
  withSudo,
  type BootstrapPlanResult,
} from './cloud-init.js';

function plan(result: BootstrapPlanResult) {
  if (!result.ok) throw new Error(`expected a plan, got: ${result.error}`);
  return result.plan;
}

function error(result: BootstrapPlanResult): string {
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

const k0smotronWorker = `## template: jinja
#cloud-config
write_files:
  - path: /etc/k0s.token
    content: H4sIAAAAAAAC/0rLz1dISiwCAAAA//8BAAD//w==
    permissions: "0600"
  - path: /etc/motd
    content: |
      hello
      world
    permissions: "0644"
runcmd:
  - curl -sSfL --retry 5 https://get.k0s.sh | K0S_INSTALL_PATH=/usr/local/bin K0S_VERSION=v1.31.2+k0s.0 sh
  - /usr/local/bin/k0s install worker --token-file /etc/k0s.token
  - mkdir -p /run/cluster-api && touch /run/cluster-api/bootstrap-success.complete
`;

describe('parseBootstrapData', () => {
  it('reads what k0smotron writes: header lines, write_files in order, runcmd in order', () => {
    const p = plan(parseBootstrapData(k0smotronWorker));
    expect(p.files).toEqual([
      {
        path: '/etc/k0s.token',
        content: 'H4sIAAAAAAAC/0rLz1dISiwCAAAA//8BAAD//w==',
        encoding: 'text',
        mode: 0o600,
      },
      { path: '/etc/motd', content: 'hello\nworld\n', encoding: 'text', mode: 0o644 },
    ]);
    expect(p.commands).toHaveLength(3);
    expect(p.commands[2]).toBe(`mkdir -p /run/cluster-api && touch ${BOOTSTRAP_SENTINEL}`);
  });

  it('accepts a document without header lines and one that is empty', () => {
    expect(plan(parseBootstrapData('runcmd: [ "true" ]\n'))).toEqual({ files: [], commands: ['true'] });
    expect(plan(parseBootstrapData(''))).toEqual({ files: [], commands: [] });
    expect(plan(parseBootstrapData('## template: jinja\n#cloud-config\n'))).toEqual({
      files: [],
      commands: [],
    });
    expect(plan(parseBootstrapData('write_files:\nruncmd:\n'))).toEqual({ files: [], commands: [] });
  });

  it('ignores keys it does not know', () => {
    expect(plan(parseBootstrapData('users: [a]\nruncmd: [x]\n')).commands).toEqual(['x']);
  });

  it('reads permissions as octal, as written: quoted, bare with or without leading zero, 0o, default 0644', () => {
    const doc = `write_files:
  - {path: /a, permissions: "0600"}
  - {path: /b, permissions: 0600}
  - {path: /c, permissions: 755}
  - {path: /d, permissions: 0o640}
  - {path: /e}
  - {path: /f, permissions: ""}
`;
    expect(plan(parseBootstrapData(doc)).files.map((f) => f.mode)).toEqual([
      0o600, 0o600, 0o755, 0o640, 0o644, 0o644,
    ]);
  });

  it('keeps scalars as written: numeric content stays text', () => {
    const p = plan(
      parseBootstrapData('write_files:\n  - {path: /a, content: 0644}\n  - {path: /b, content: true}\n')
    );
    expect(p.files.map((f) => f.content)).toEqual(['0644', 'true']);
  });

  it('takes owner when given', () => {
    const p = plan(
      parseBootstrapData('write_files:\n  - {path: /a, owner: "k0s:k0s"}\n  - {path: /b, owner: root}\n')
    );
    expect(p.files.map((f) => f.owner)).toEqual(['k0s:k0s', 'root']);
  });

  it('normalises encodings and validates base64', () => {
    const doc = `write_files:
  - {path: /a, encoding: b64, content: "aGVs\\nbG8="}
  - {path: /b, encoding: base64, content: aGVsbG8=}
  - {path: /c, encoding: gzip+base64, content: H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==}
  - {path: /d, encoding: gz+b64, content: ""}
  - {path: /e, encoding: text/plain, content: plain}
  - {path: /f, encoding: B64, content: aGVsbG8=}
`;
    const files = plan(parseBootstrapData(doc)).files;
    expect(files.map((f) => [f.encoding, f.content])).toEqual([
      ['base64', 'aGVsbG8='],
      ['base64', 'aGVsbG8='],
      ['gzip+base64', 'H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA=='],
      ['gzip+base64', ''],
      ['text', 'plain'],
      ['base64', 'aGVsbG8='],
    ]);
  });

  it('shell-joins runcmd argument lists, quoting what needs it', () => {
    const p = plan(parseBootstrapData(`runcmd:\n  - [echo, "it's here", "$HOME", 42]\n  - ls -l\n`));
    expect(p.commands).toEqual([`echo 'it'\\''s here' '$HOME' 42`, 'ls -l']);
  });

  it.each([
    ['not YAML', 'write_files: [', /not valid YAML/],
    ['duplicate keys', 'runcmd: [a]\nruncmd: [b]\n', /not valid YAML/],
    ['a list document', '- a\n', /document must be a mapping/],
    ['a scalar document', 'hello\n', /document must be a mapping/],
    ['write_files not a list', 'write_files: {path: /a}\n', /^write_files: must be a list/],
    ['runcmd not a list', 'runcmd: echo\n', /^runcmd: must be a list/],
    ['a file not a mapping', 'write_files: [/a]\n', /^write_files\[0\]: must be a mapping/],
    ['a missing path', 'write_files: [{content: x}]\n', /^write_files\[0\]\.path: is required/],
    ['a relative path', 'write_files: [{path: etc/x}]\n', /^write_files\[0\]\.path: must be absolute/],
    ['a directory path', 'write_files: [{path: /etc/}]\n', /^write_files\[0\]\.path: is not a file path/],
    ['a path that is a list', 'write_files: [{path: [a]}]\n', /^write_files\[0\]\.path: must be a scalar/],
    [
      'bad permissions',
      'write_files: [{path: /a}, {path: /b, permissions: "rw-r--r--"}]\n',
      /^write_files\[1\]\.permissions: "rw-r--r--" is not an octal mode/,
    ],
    ['permissions with 8', 'write_files: [{path: /a, permissions: 0680}]\n', /permissions: "0680"/],
    [
      'an unknown encoding',
      'write_files: [{path: /a, encoding: gzip}]\n',
      /^write_files\[0\]\.encoding: unsupported "gzip"/,
    ],
    [
      'bad base64',
      'write_files: [{path: /a, encoding: b64, content: "a*b"}]\n',
      /^write_files\[0\]\.content: is not valid base64/,
    ],
    [
      'truncated base64',
      'write_files: [{path: /a, encoding: b64, content: "aGVsb"}]\n',
      /content: is not valid base64/,
    ],
    [
      'a content mapping',
      'write_files: [{path: /a, content: {x: 1}}]\n',
      /^write_files\[0\]\.content: must be a scalar/,
    ],
    ['a bad owner', 'write_files: [{path: /a, owner: "root; rm -rf /"}]\n', /^write_files\[0\]\.owner: /],
    ['an empty command', 'runcmd: [a, ""]\n', /^runcmd\[1\]: must not be empty/],
    ['a null command', 'runcmd: [a, null]\n', /^runcmd\[1\]: must not be empty/],
    ['a mapping command', 'runcmd: [{a: b}]\n', /^runcmd\[0\]: must be a scalar/],
    ['an empty argument list', 'runcmd: [[]]\n', /^runcmd\[0\]: an argument list must not be empty/],
    ['a null argument', 'runcmd: [[echo, null]]\n', /^runcmd\[0\]\[1\]: must not be empty/],
    ['a nested list argument', 'runcmd: [[echo, [x]]]\n', /^runcmd\[0\]\[1\]: must be a scalar/],
  ])('reports %s as an error naming the field, without throwing', (_what, doc, pattern) => {
    expect(error(parseBootstrapData(doc))).toMatch(pattern);
  });
});

describe('parsePermissions', () => {
  it('reads octal text and numbers by their digits', () => {
    expect(parsePermissions('0600')).toBe(0o600);
    expect(parsePermissions(' 600 ')).toBe(0o600);
    expect(parsePermissions('0O755')).toBe(0o755);
    expect(parsePermissions('4755')).toBe(0o4755);
    expect(parsePermissions(644)).toBe(0o644);
    expect(parsePermissions(undefined)).toBe(0o644);
    expect(parsePermissions(null)).toBe(0o644);
    expect(parsePermissions('')).toBe(0o644);
  });

  it('rejects what is not an octal mode', () => {
    expect(parsePermissions('0x1a')).toBeUndefined();
    expect(parsePermissions('99')).toBeUndefined();
    expect(parsePermissions('17777')).toBeUndefined();
    expect(parsePermissions(384.5)).toBeUndefined();
    expect(parsePermissions(-1)).toBeUndefined();
    expect(parsePermissions(true)).toBeUndefined();
  });
});

describe('shell builders', () => {
  it('shellQuote leaves safe words bare and single-quotes the rest', () => {
    expect(shellQuote('/etc/k0s.token')).toBe('/etc/k0s.token');
    expect(shellQuote('')).toBe(`''`);
    expect(shellQuote('a b')).toBe(`'a b'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('$(reboot)')).toBe(`'$(reboot)'`);
  });

  it('formatMode and parentDir', () => {
    expect(formatMode(0o600)).toBe('0600');
    expect(formatMode(0o7)).toBe('0007');
    expect(formatMode(0o4755)).toBe('04755');
    expect(parentDir('/etc/k0s/k0s.yaml')).toBe('/etc/k0s');
    expect(parentDir('/k0s.yaml')).toBe('/');
    expect(parentDir('/etc/k0s/')).toBe('/etc');
  });

  it('withSudo wraps for a non-root user only when asked', () => {
    expect(withSudo(`echo 'x' > /etc/y`, { sudo: true, user: 'k0sflow' })).toBe(
      `sudo -n -- sh -c 'echo '\\''x'\\'' > /etc/y'`
    );
    expect(withSudo('id', { sudo: true, user: 'root' })).toBe('id');
    expect(withSudo('id', { sudo: false, user: 'k0sflow' })).toBe('id');
  });

  it('uploadScript creates a missing dir and a new file with the mode, truncates an existing file, chowns', () => {
    expect(uploadScript({ path: '/etc/k 0s/token', mode: 0o600 })).toBe(
      [
        'set -e',
        `[ -d '/etc/k 0s' ] || install -d -m 0600 '/etc/k 0s'`,
        `[ -e '/etc/k 0s/token' ] || install -m 0600 /dev/null '/etc/k 0s/token'`,
        `cat > '/etc/k 0s/token'`,
      ].join('\n')
    );
    expect(uploadScript({ path: '/a', mode: 0o755, owner: 'k0s:k0s' }).split('\n').slice(1)).toEqual([
      '[ -d / ] || install -d -m 0755 /',
      '[ -e /a ] || install -m 0755 /dev/null /a',
      'cat > /a',
      'chown k0s:k0s /a',
    ]);
  });

  it('fileExistsCommand', () => {
    expect(fileExistsCommand(BOOTSTRAP_SENTINEL)).toBe('test -e /run/cluster-api/bootstrap-success.complete');
  });

  it('installScript is k0smotron byte for byte', () => {
    expect(installScript(['a', 'b c'])).toBe('#!/bin/sh\nset -e\n\na\nb c\n');
    expect(installScript([])).toBe('#!/bin/sh\nset -e\n\n\n');
  });

  it('installScriptPath and installScriptFile', () => {
    expect(installScriptPath('/etc/k0smotron')).toBe('/etc/k0smotron/k0s_install.sh');
    expect(installScriptPath('/opt/x/')).toBe('/opt/x/k0s_install.sh');
    expect(installScriptPath('')).toBe('/etc/k0smotron/k0s_install.sh');
    expect(installScriptFile('/w', ['true'])).toEqual({
      path: '/w/k0s_install.sh',
      content: '#!/bin/sh\nset -e\n\ntrue\n',
      encoding: 'text',
      mode: 0o700,
    });
  });
});
