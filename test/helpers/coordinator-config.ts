import { type CoordinatorConfig, resolveCoordinatorConfig } from '../../coordinator/config.js';

/**
 * A whole CoordinatorConfig for an in-process coordinator: the defaults, loopback port 0,
 * `--insecure` (plaintext, as agents in these tests are not enrolled), then `over`.
 */
export function coordinatorConfig(dataDir: string, over: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  return { ...resolveCoordinatorConfig({ data: dataDir, listen: '127.0.0.1:0', insecure: true }, { FERRY_COORDINATOR_CONFIG: '' }, dataDir), ...over };
}
