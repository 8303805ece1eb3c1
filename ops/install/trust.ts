import path from 'node:path';
import type { InstallFacts, InstallOptions, Layout, Step } from './types.js';

/**
 * The trust part of `install`, decided purely like the rest of the plan: the agent's
 * enrollment and the coordinator's `init`. `first` steps run before anything is installed, `last`
 * ones are notes after the start/supervisor lines.
 */
export interface TrustSteps {
  first: Step[];
  last: Step[];
}

/** What may be shown of a join token: `fy.<id>.***` (the id finds it in the audit log; the secret never shows). */
export function redactToken(token: string): string {
  const m = /^fy\.([a-z0-9]{1,40})\./.exec(token.trim());
  return m ? `fy.${m[1]}.***` : '***';
}

export function agentTrust(opts: InstallOptions, facts: InstallFacts, l: Layout, rootDir: string): TrustSteps {
  const a = opts.agent ?? { tags: {} };
  const coordinator = facts.configuredCoordinator ?? a.coordinator;
  // The host id the service will claim: an existing config's (new flags are not written into it), else --host-id, else ROOT/host-id.
  const hostId = facts.configuredHostId ?? (facts.configExists ? undefined : a.hostId) ?? facts.keptHostId;
  const cert = path.join(rootDir, 'tls', 'agent.crt');
  const enrolled = hostId !== undefined && facts.enrolledHostId === hostId;
  if (a.enroll && coordinator && (!enrolled || a.enroll.reenroll)) {
    return {
      first: [{ kind: 'enroll', coordinator, caFingerprint: a.enroll.caFingerprint, rootDir, ...(hostId && { hostId }), token: a.enroll.token }],
      last: [],
    };
  }
  if (enrolled) {
    const text = a.enroll
      ? `enrollment: host ${hostId} is enrolled already (${cert}), so the join token is not used; --reenroll makes a new key and certificate`
      : `enrollment: host ${hostId} is enrolled (${cert}): the agent connects with mutual TLS`;
    return { first: a.enroll ? [{ kind: 'note', text }] : [], last: a.enroll ? [] : [{ kind: 'note', text }] };
  }
  const stale = facts.enrolledHostId !== undefined ? ` (${cert} is for host ${facts.enrolledHostId}, not this one)` : '';
  return {
    first: [],
    last: [{
      kind: 'note',
      text: `enrollment: not enrolled${stale}, so the agent connects in plaintext, which only a coordinator run with --insecure accepts. `
        + `Enroll before it starts (a join token comes from: ferry token create --role agent --uses 1), or re-run install with --token and --ca-fingerprint:\n`
        + `    ${path.join(l.home, 'bin', 'ferry-agent')} enroll --config ${l.configFile} --token <join token> --ca-fingerprint <CA fingerprint>`,
    }],
  };
}

export function coordinatorTrust(opts: InstallOptions, facts: InstallFacts, data: string): TrustSteps {
  if (facts.caFingerprint === undefined) return { first: [{ kind: 'init', data, sans: opts.coordinator?.sans ?? [] }], last: [] };
  const sans = (opts.coordinator?.sans ?? []).length > 0 ? ' (--san is ignored: the server certificate exists already)' : '';
  return {
    first: [{ kind: 'note', text: `trust: ${data} is initialised already (CA fingerprint SHA256 ${facts.caFingerprint}; the first admin token was written to ${path.join(data, 'admin.token')}); kept as it is${sans}` }],
    last: [],
  };
}
