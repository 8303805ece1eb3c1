import path from 'node:path';

/**
 * The agent's on-disk layout, CodeDeploy's so existing tooling still finds things:
 *
 *   <root>/<group-id>/<deployment-id>/deployment-archive/   the unpacked revision
 *   <root>/<group-id>/<deployment-id>/logs/scripts.log       every hook's output
 *   <root>/<group-id>/<deployment-id>/result.json            the host deployment's result (Ferry)
 *   <root>/deployment-instructions/<group-id>_last_successful_install
 *   <root>/deployment-instructions/<group-id>_most_recent_install
 *   <root>/deployment-instructions/<group-id>-cleanup
 *   <root>/deployment-instructions/<group-id>-install.json
 *   <root>/deployment-logs/ferry-agent-deployments.log
 *   <root>/ongoing-deployment/<deployment-id>                crash marker (Ferry: JSON)
 */
export interface Layout {
  root: string;
  groupDir(groupId: string): string;
  deploymentDir(groupId: string, deploymentId: string): string;
  archiveDir(groupId: string, deploymentId: string): string;
  scriptsLog(groupId: string, deploymentId: string): string;
  resultFile(groupId: string, deploymentId: string): string;
  instructionsDir: string;
  lastSuccessfulInstall(groupId: string): string;
  mostRecentInstall(groupId: string): string;
  cleanupFile(groupId: string): string;
  installJson(groupId: string): string;
  deploymentLogsDir: string;
  deploymentsLog: string;
  ongoingDir: string;
  crashMarker(deploymentId: string): string;
  lockFile: string;
}

export function layoutFor(root: string): Layout {
  const r = path.resolve(root);
  const instructions = path.join(r, 'deployment-instructions');
  const logs = path.join(r, 'deployment-logs');
  const ongoing = path.join(r, 'ongoing-deployment');
  const dep = (g: string, d: string) => path.join(r, g, d);
  return {
    root: r,
    groupDir: g => path.join(r, g),
    deploymentDir: dep,
    archiveDir: (g, d) => path.join(dep(g, d), 'deployment-archive'),
    scriptsLog: (g, d) => path.join(dep(g, d), 'logs', 'scripts.log'),
    resultFile: (g, d) => path.join(dep(g, d), 'result.json'),
    instructionsDir: instructions,
    lastSuccessfulInstall: g => path.join(instructions, `${g}_last_successful_install`),
    mostRecentInstall: g => path.join(instructions, `${g}_most_recent_install`),
    cleanupFile: g => path.join(instructions, `${g}-cleanup`),
    installJson: g => path.join(instructions, `${g}-install.json`),
    deploymentLogsDir: logs,
    deploymentsLog: path.join(logs, 'ferry-agent-deployments.log'),
    ongoingDir: ongoing,
    crashMarker: d => path.join(ongoing, d),
    lockFile: path.join(r, 'ferry-agent.lock'),
  };
}
