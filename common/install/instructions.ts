/**
 * Install instructions as data, in CodeDeploy's `<group-id>-install.json` vocabulary
 * ({"instructions": [{"type": "copy", ...}]}), so existing tooling can read them.
 */
export type Instruction =
  | { type: 'copy'; source: string; destination: string; kind: 'file' | 'symlink'; overwrite: boolean }
  | { type: 'mkdir'; directory: string; mode: number }
  | { type: 'chmod'; mode: string; file: string }
  | { type: 'setfacl'; acl: string[]; file: string }
  | { type: 'chown'; owner?: string; group?: string; file: string };

export interface InstallPlan {
  instructions: Instruction[];
  /** Destinations left alone because file_exists_behavior is RETAIN. */
  retained: string[];
}

export function installJson(plan: InstallPlan): string {
  return JSON.stringify({ instructions: plan.instructions }, null, 2) + '\n';
}
