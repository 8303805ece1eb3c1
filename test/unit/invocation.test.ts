import t from 'tap';
import type { HookScript } from '../../common/appspec/types.js';
import {
  type HookContext,
  type InvocationInput,
  type ResolvedUser,
  type ScriptInspection,
  buildInvocation,
  runasWarning,
  runWithFor,
} from '../../agent/lifecycle/invocation.js';

const REV = '/deploy/g-1/d-1/deployment-archive';
const FILE = `${REV}/scripts/start.sh`;
const SETPRIV = '/usr/bin/setpriv';

const script = (over: Partial<HookScript> = {}): HookScript => ({ location: 'scripts/start.sh', timeoutSeconds: 30, ...over });
const context = (over: Partial<HookContext> = {}): HookContext => ({
  event: 'ApplicationStart',
  deploymentId: 'd-1',
  applicationName: 'shop',
  groupName: 'web',
  groupId: 'g-1',
  revisionDir: REV,
  ...over,
});
const input = (over: Partial<InvocationInput> = {}): InvocationInput => ({
  script: script(),
  inspection: { kind: 'executable', runWith: 'exec' },
  context: context(),
  baseEnv: Object.freeze({ PATH: '/agent/bin', HOME: '/home/agent', FOO: 'bar' }),
  agentUid: 0,
  setpriv: SETPRIV,
  ...over,
});
const user = (over: Partial<ResolvedUser> = {}): ResolvedUser => ({
  name: 'app', uid: 1234, gid: 4321, home: '/home/app', shell: '/bin/zsh', ...over,
});

t.test('argv depends on how the script starts', async t => {
  const cases: { name: string; inspection: ScriptInspection; file: string; args: string[] }[] = [
    { name: 'a #! script or a binary is run directly', inspection: { kind: 'executable', runWith: 'exec' }, file: FILE, args: [] },
    { name: 'a script without #! is run by /bin/sh, as exec falls back to it for CodeDeploy', inspection: { kind: 'executable', runWith: 'sh' }, file: '/bin/sh', args: [FILE] },
  ];
  for (const c of cases) {
    const r = buildInvocation(input({ inspection: c.inspection }));
    t.ok(r.ok, c.name);
    if (r.ok) t.same({ file: r.invocation.file, args: r.invocation.args }, { file: c.file, args: c.args }, c.name);
  }
});

t.test('runWithFor reads the first bytes of a script', async t => {
  const cases: [string, Buffer, 'exec' | 'sh'][] = [
    ['#!/bin/bash', Buffer.from('#!/bin/bash\n'), 'exec'],
    ['#! with no interpreter yet', Buffer.from('#!'), 'exec'],
    ['an ELF binary', Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 'exec'],
    ['plain shell commands', Buffer.from('echo hi\n'), 'sh'],
    ['an empty file', Buffer.alloc(0), 'sh'],
    ['a #! after a space', Buffer.from(' #!/bin/sh'), 'sh'],
  ];
  for (const [name, head, want] of cases) t.equal(runWithFor(head), want, name);
});

t.test('a script that cannot be started is an error with the CodeDeploy code', async t => {
  const cases: { name: string; inspection: ScriptInspection; errorCode: string; message: RegExp }[] = [
    {
      name: 'a script chmod +x could not fix is ScriptNotExecutable, with the reason and what to check',
      inspection: { kind: 'not-executable', reason: 'EROFS: read-only file system' },
      errorCode: 'ScriptNotExecutable',
      message: /^script scripts\/start\.sh is not executable and chmod \+x failed \(EROFS: read-only file system\); check that the deployment root is writable and not mounted noexec/,
    },
    {
      name: 'a missing script is ScriptMissing',
      inspection: { kind: 'missing' },
      errorCode: 'ScriptMissing',
      message: new RegExp(`^script scripts/start\\.sh does not exist in the revision \\(${FILE}\\)`),
    },
  ];
  for (const c of cases) {
    const r = buildInvocation(input({ inspection: c.inspection }));
    t.equal(r.ok, false, c.name);
    if (!r.ok) {
      t.equal(r.errorCode, c.errorCode, c.name);
      t.match(r.message, c.message, c.name);
    }
  }
});

t.test('the deadline comes from timeoutSeconds; scripts run from / and FERRY_REVISION_DIR names the revision', async t => {
  const cases = [
    { timeoutSeconds: 1, timeoutMs: 1000, revisionDir: REV },
    { timeoutSeconds: 3600, timeoutMs: 3_600_000, revisionDir: '/other/revision' },
  ];
  for (const c of cases) {
    const r = buildInvocation(input({ script: script({ timeoutSeconds: c.timeoutSeconds }), context: context({ revisionDir: c.revisionDir }) }));
    if (!r.ok) throw new Error(r.message);
    t.equal(r.invocation.timeoutMs, c.timeoutMs, `${c.timeoutSeconds} s is ${c.timeoutMs} ms`);
    t.equal(r.invocation.cwd, '/', 'cwd is /, the agent\'s, as for CodeDeploy');
    t.equal(r.invocation.env.FERRY_REVISION_DIR, c.revisionDir, 'the revision dir is in the environment');
    t.equal(r.invocation.file, `${c.revisionDir}/scripts/start.sh`, 'the file is under the revision dir');
    t.equal(r.invocation.location, 'scripts/start.sh', 'the appspec location is kept for messages');
  }
});

t.test('the environment carries the deployment variables', async t => {
  const cases: { name: string; ctx: Partial<HookContext>; baseEnv: Record<string, string>; expect: Record<string, string | undefined> }[] = [
    {
      name: 'the CodeDeploy variables are set and the base env is kept',
      ctx: { bundleCommit: 'abc123' },
      baseEnv: { PATH: '/agent/bin', HOME: '/home/agent', FOO: 'bar' },
      expect: {
        LIFECYCLE_EVENT: 'ApplicationStart',
        DEPLOYMENT_ID: 'd-1',
        APPLICATION_NAME: 'shop',
        DEPLOYMENT_GROUP_NAME: 'web',
        DEPLOYMENT_GROUP_ID: 'g-1',
        BUNDLE_COMMIT: 'abc123',
        PATH: '/agent/bin',
        HOME: '/home/agent',
        FOO: 'bar',
      },
    },
    {
      name: 'BUNDLE_COMMIT is absent when no commit is given',
      ctx: {},
      baseEnv: { FOO: 'bar' },
      expect: { BUNDLE_COMMIT: undefined, FOO: 'bar' },
    },
    {
      name: 'a BUNDLE_COMMIT inherited from the agent is removed when no commit is given',
      ctx: {},
      baseEnv: { BUNDLE_COMMIT: 'stale', FOO: 'bar' },
      expect: { BUNDLE_COMMIT: undefined, FOO: 'bar' },
    },
    {
      name: 'the deployment variables win over inherited ones',
      ctx: { event: 'ValidateService' },
      baseEnv: { LIFECYCLE_EVENT: 'Nope', DEPLOYMENT_ID: 'old' },
      expect: { LIFECYCLE_EVENT: 'ValidateService', DEPLOYMENT_ID: 'd-1' },
    },
    {
      name: 'a custom event is named in LIFECYCLE_EVENT',
      ctx: { event: 'CustomEvent' },
      baseEnv: {},
      expect: { LIFECYCLE_EVENT: 'CustomEvent' },
    },
  ];
  for (const c of cases) {
    const baseEnv = Object.freeze({ ...c.baseEnv });
    const r = buildInvocation(input({ context: context(c.ctx), baseEnv }));
    if (!r.ok) throw new Error(r.message);
    for (const [k, v] of Object.entries(c.expect)) {
      if (v === undefined) t.notOk(k in r.invocation.env, `${c.name}: ${k} is not set`);
      else t.equal(r.invocation.env[k], v, `${c.name}: ${k}`);
    }
    t.same(baseEnv, c.baseEnv, `${c.name}: the base env is not modified`);
  }
});

t.test('runas goes through setpriv with the user\'s groups, sets the login variables and keeps the agent\'s PATH', async t => {
  const cases: { name: string; over: Partial<InvocationInput>; argv: string[]; env: Record<string, string | undefined> }[] = [
    {
      name: 'without runas the script runs as the agent, with its env',
      over: {},
      argv: [FILE],
      env: { HOME: '/home/agent', USER: undefined, LOGNAME: undefined, SHELL: undefined, PATH: '/agent/bin' },
    },
    {
      name: 'an ordinary user: setpriv --init-groups, its home, names and shell, the agent PATH',
      over: { user: user() },
      argv: [SETPRIV, '--reuid=1234', '--regid=4321', '--init-groups', '--', FILE],
      env: { HOME: '/home/app', USER: 'app', LOGNAME: 'app', SHELL: '/bin/zsh', PATH: '/agent/bin' },
    },
    {
      name: 'a script without #! as a runas user: setpriv runs /bin/sh',
      over: { user: user(), inspection: { kind: 'executable', runWith: 'sh' } },
      argv: [SETPRIV, '--reuid=1234', '--regid=4321', '--init-groups', '--', '/bin/sh', FILE],
      env: { USER: 'app' },
    },
    {
      name: 'root as runas: setpriv too (root\'s groups), PATH still the agent\'s',
      over: { user: user({ name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' }) },
      argv: [SETPRIV, '--reuid=0', '--regid=0', '--init-groups', '--', FILE],
      env: { HOME: '/root', USER: 'root', PATH: '/agent/bin' },
    },
    {
      name: 'a non-root agent running as the runas user itself runs the script directly',
      over: { user: user({ uid: 1000 }), agentUid: 1000 },
      argv: [FILE],
      env: { USER: 'app', HOME: '/home/app' },
    },
  ];
  for (const c of cases) {
    const r = buildInvocation(input(c.over));
    if (!r.ok) throw new Error(`${c.name}: ${r.message}`);
    t.strictSame([r.invocation.file, ...r.invocation.args], c.argv, `${c.name}: argv`);
    for (const [k, v] of Object.entries(c.env)) t.equal(r.invocation.env[k], v, `${c.name}: ${k}`);
    t.equal(r.invocation.env.FOO, 'bar', `${c.name}: other base variables are kept`);
    t.equal(r.invocation.env.LIFECYCLE_EVENT, 'ApplicationStart', `${c.name}: deployment variables are set`);
  }
});

t.test('runas that cannot be honoured is an error naming the user and why', async t => {
  const cases: { name: string; over: Partial<InvocationInput>; message: RegExp }[] = [
    { name: 'a non-root agent and another user', over: { user: user(), agentUid: 1000 }, message: /runas app of scripts\/start\.sh: the agent runs as uid 1000, and only root can run a script as another user/ },
    { name: 'no setpriv on the host', over: { user: user(), setpriv: undefined }, message: /runas app of scripts\/start\.sh: setpriv \(util-linux\) is not installed on this host/ },
  ];
  for (const c of cases) {
    const over = { ...c.over };
    const base = input(over);
    if ('setpriv' in over && over.setpriv === undefined) delete base.setpriv;
    const r = buildInvocation(base);
    t.equal(r.ok, false, c.name);
    if (!r.ok) {
      t.equal(r.errorCode, 'UnknownError', c.name);
      t.match(r.message, c.message, c.name);
    }
  }
});

t.test('runasWarning flags users whose login shell makes su (and so CodeDeploy) refuse them', async t => {
  t.match(runasWarning(user({ name: 'www-data', shell: '/usr/sbin/nologin' }), 'a.sh'),
    /runas www-data of a\.sh: www-data's login shell is \/usr\/sbin\/nologin, so on CodeDeploy, which runs runas scripts through su, this script fails/);
  t.match(runasWarning(user({ shell: '/bin/false' }), 'a.sh'), /login shell is \/bin\/false/);
  t.equal(runasWarning(user({ shell: '/bin/bash' }), 'a.sh'), undefined);
});
