/**
 * `ferry-agent enroll --coordinator HOST:PORT --token T --ca-fingerprint SHA256 [--root-dir DIR]`
 * (issue 6): pins the coordinator's CA by fingerprint, makes the host's key here (it never leaves),
 * and stores the client certificate the coordinator signs for this host id in `<root>/tls/`.
 * `ferry-agent start` then speaks mutual TLS.
 */
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import type { EnrollResponse__Output } from '../../proto/gen/ferry/v1/EnrollResponse.js';
import { type AgentEnvironment, loadStartConfig } from '../config.js';
import { FerryError, describeError } from '../errors.js';
import { identityFiles, newKeyAndCsr, storeIdentity } from '../link/identity.js';
import { fetchPinnedCa } from '../link/tls-pin.js';
import { agentClient } from '../link/transport.js';
import { layoutFor } from '../state/layout.js';
import { generateHostId, resolveHostId } from './host-id.js';

export function enrollCommand(): Command {
  return new Command('enroll')
    .description('enroll this host with the coordinator: get a client certificate for mutual TLS')
    .option('--coordinator <host:port>', 'the coordinator (default: $FERRY_COORDINATOR or the config file)')
    .option('--token <token>', 'a join token: ferry token create --role agent --uses 1 (default $FERRY_JOIN_TOKEN)')
    .requiredOption('--ca-fingerprint <sha256>', "the coordinator CA's SHA-256 fingerprint, as ferry-coordinator init printed it")
    .option('--root-dir <dir>', 'deployment root; the key and certificates go to <root>/tls/ (default as ferry-agent start)')
    .option('--host-id <id>', "this host's id (default: the one kept in <root>/host-id, made now if there is none)")
    .option('--config <file>', 'the agent config file (for coordinator, root-dir, host-id)')
    .addHelpText('after', `
The key is made on this host with openssl and never sent; the coordinator signs a certificate for
the host id and records it (ferry hosts revoke H makes it useless at once). Re-running enrolls again
with a new key. The token is spent (one use per enrollment) and never logged.

Examples:
  ferry-agent enroll --coordinator ferry.internal:7420 --token fy.… --ca-fingerprint 7A:35:…:68
  FERRY_JOIN_TOKEN=fy.… ferry-agent enroll --config /etc/ferry/agent.yaml --ca-fingerprint 7A:35:…:68`);
}

export async function executeEnroll(opts: Record<string, unknown>, env: AgentEnvironment, cwd: string, out: (s: string) => void): Promise<number> {
  const { token: given, caFingerprint, ...rest } = opts as { token?: string; caFingerprint: string } & Record<string, unknown>;
  const token = given ?? env.joinToken;
  if (!token) throw new FerryError('INVALID_ARGUMENT', '--token (or FERRY_JOIN_TOKEN) is required: an admin makes one with ferry token create --role agent --uses 1');
  const cfg = await loadStartConfig(rest, env, cwd);
  const layout = layoutFor(cfg.rootDir);
  // Kept in <root>/host-id, so `ferry-agent start` without --host-id claims the enrolled id.
  const kept = await resolveHostId(layout.root, undefined, () => cfg.hostId ?? generateHostId());
  if (cfg.hostId !== undefined && kept !== cfg.hostId) {
    throw new FerryError('INVALID_ARGUMENT', `--host-id ${cfg.hostId}: ${layout.root}/host-id already says ${kept}; enroll as ${kept}, or remove that file first`);
  }
  const hostId = kept;
  const files = identityFiles(layout.root);
  const caPem = await fetchPinnedCa(cfg.coordinator, caFingerprint);
  const csrPem = await newKeyAndCsr(files, hostId);
  const client = agentClient(cfg.coordinator, 'enroll', grpc.credentials.createSsl(Buffer.from(caPem)));
  try {
    const res = await new Promise<EnrollResponse__Output>((resolve, reject) => {
      client.Enroll({ token: token.trim(), hostId, csrPem }, { deadline: Date.now() + 30_000 }, (err, r) => {
        if (err) {
          const hint = /altnames|does not match/i.test(err.details) ? `: the coordinator's certificate does not name ${cfg.coordinator.replace(/:\d+$/, '')}; re-run ferry-coordinator init with --san, or connect by a name it has` : '';
          return reject(new FerryError(err.code === grpc.status.UNAVAILABLE ? 'UNAVAILABLE' : 'UNAUTHENTICATED', `enrollment refused by ${cfg.coordinator}: ${err.details || describeError(err)}${hint}`, { cause: err }));
        }
        resolve(r!);
      });
    });
    await storeIdentity(files, res.certificatePem, res.caPem);
  } finally {
    client.close();
  }
  out(`enrolled host ${hostId} with ${cfg.coordinator}: key and certificate in ${files.dir} (0600)\n`);
  out(`next: ferry-agent start --coordinator ${cfg.coordinator}${cfg.rootDir !== undefined ? ` --root-dir ${layout.root}` : ''}\n`);
  return 0;
}
