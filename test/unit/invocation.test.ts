import t from 'tap';
import type { HookScript } from '../../common/appspec/types.js';
import {
  type HookContext,
  type InvocationInput,
  type ResolvedUser,
  type ScriptInspection,
  buildInvocation,
  parseShebang,
} from '../../agent/lifecycle/invocation.js';

const REV = '/deploy/g-1/d-1/deployment-archive';
const FILE = `${REV}/scripts/start.sh`;

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
  inspection: { kind: 'executable' },
  context: context(),
  baseEnv: Object.freeze({ PATH: '/agent/bin', HOME: '/home/agent', FOO: 'bar' }),
  ...over,
});
const user = (over: Partial<ResolvedUser> = {}): ResolvedUser => ({
  name: 'app', uid: 1234, gid: 4321, home: '/home/app', shell: '/bin/zsh', ...over,
});

t.test('argv depends on how the script can be started', async t => {
  const cases: { name: string; inspection: ScriptInspection; file: string; args: string[] }[] = [
    { name: 'an executable script is run directly', inspection: { kind: 'executable' }, file: FILE, args: [] },
    {
      name: 'a non-executable script with #!/bin/bash is run by bash',
      inspection: { kind: 'not-executable', shebang: { interpreter: '/bin/bash' } },
      file: '/bin/bash',
      args: [FILE],
    },
    {
      name: 'a non-executable script with #!/usr/bin/env bash is run by env with its argument',
      inspection: { kind: 'not-executable', shebang: { interpreter: '/usr/bin/env', arg: 'bash' } },
      file: '/usr/bin/env',
      args: ['bash', FILE],
    },
  ];
  for (const c of cases) {
    const r = buildInvocation(input({ inspection: c.inspection }));
    t.ok(r.ok, c.name);
    if (r.ok) t.same({ file: r.invocation.file, args: r.invocation.args }, { file: c.file, args: c.args }, c.name);
  }
});

t.test('a script that cannot be started is an error with the CodeDeploy code', async t => {
  const cases: { name: string; inspection: ScriptInspection; errorCode: string; message: RegExp }[] = [
    {
      name: 'a non-executable script without a #! line is ScriptNotExecutable',
      inspection: { kind: 'not-executable' },
      errorCode: 'ScriptNotExecutable',
      message: /^script scripts\/start\.sh is not executable and has no #! line/,
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

t.test('the deadline comes from timeoutSeconds and the cwd is the revision', async t => {
  const cases = [
    { timeoutSeconds: 1, timeoutMs: 1000, revisionDir: REV },
    { timeoutSeconds: 3600, timeoutMs: 3_600_000, revisionDir: '/other/revision' },
  ];
  for (const c of cases) {
    const r = buildInvocation(input({ script: script({ timeoutSeconds: c.timeoutSeconds }), context: context({ revisionDir: c.revisionDir }) }));
    if (!r.ok) throw new Error(r.message);
    t.equal(r.invocation.timeoutMs, c.timeoutMs, `${c.timeoutSeconds} s is ${c.timeoutMs} ms`);
    t.equal(r.invocation.cwd, c.revisionDir, 'cwd is the revision dir');
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

t.test('a runas user sets uid/gid and replaces the login variables', async t => {
  const cases: { name: string; user?: ResolvedUser; expect: Record<string, unknown> }[] = [
    {
      name: 'without a user the agent identity and env are kept',
      expect: { uid: undefined, gid: undefined, HOME: '/home/agent', USER: undefined, LOGNAME: undefined, SHELL: undefined, PATH: '/agent/bin' },
    },
    {
      name: 'an ordinary user gets its home, names, shell and the user PATH',
      user: user(),
      expect: {
        uid: 1234, gid: 4321, HOME: '/home/app', USER: 'app', LOGNAME: 'app', SHELL: '/bin/zsh', PATH: '/usr/local/bin:/usr/bin:/bin',
      },
    },
    {
      name: 'root gets the sbin PATH',
      user: user({ name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' }),
      expect: {
        uid: 0, gid: 0, HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash',
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      },
    },
  ];
  for (const c of cases) {
    const r = buildInvocation(input(c.user ? { user: c.user } : {}));
    if (!r.ok) throw new Error(r.message);
    const { uid, gid, ...vars } = c.expect;
    t.equal(r.invocation.uid, uid, `${c.name}: uid`);
    t.equal(r.invocation.gid, gid, `${c.name}: gid`);
    for (const [k, v] of Object.entries(vars)) t.equal(r.invocation.env[k], v, `${c.name}: ${k}`);
    t.equal(r.invocation.env.FOO, 'bar', `${c.name}: other base variables are kept`);
    t.equal(r.invocation.env.LIFECYCLE_EVENT, 'ApplicationStart', `${c.name}: deployment variables are set`);
  }
});

t.test('parseShebang reads a #! line the way Linux does', async t => {
  const cases: { line: string; expect: ReturnType<typeof parseShebang> }[] = [
    { line: '#!/bin/sh', expect: { interpreter: '/bin/sh' } },
    { line: '#!/bin/bash -e', expect: { interpreter: '/bin/bash', arg: '-e' } },
    { line: '#! /usr/bin/env  python3 -u', expect: { interpreter: '/usr/bin/env', arg: 'python3 -u' } },
    { line: '#!/usr/bin/env bash   ', expect: { interpreter: '/usr/bin/env', arg: 'bash' } },
    { line: '#!/bin/bash\t-x', expect: { interpreter: '/bin/bash', arg: '-x' } },
    { line: '#!', expect: undefined },
    { line: '#!    ', expect: undefined },
    { line: 'echo', expect: undefined },
    { line: '', expect: undefined },
    { line: ' #!/bin/sh', expect: undefined },
    { line: '# !/bin/sh', expect: undefined },
  ];
  for (const c of cases) t.strictSame(parseShebang(c.line), c.expect, JSON.stringify(c.line));
});
