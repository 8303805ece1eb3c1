import type { Command } from 'commander';
import { requireText } from '../args.js';
import { formatTime, table } from '../format.js';
import type { Runner } from '../session.js';
import { removedText } from '../cleanup-text.js';

export function registerAppCommands(program: Command, r: Runner): void {
  const app = program
    .command('app')
    .description('applications: names that group revisions and deployment groups')
    .addHelpText('after', '\nExamples:\n  ferry app create shop\n  ferry app list --json');

  r.action(
    r.leaf(app, 'create <name>', 'create an application', ['ferry app create shop', 'ferry app create shop --json']),
    async (s, [name]) => {
      const created = await s.api().createApplication({ name: requireText(name, 'NAME') });
      if (s.out.json) return s.out.document(created);
      s.out.line(`created application ${created.name}`);
      s.out.line(`next: ferry revision push DIR --app ${created.name}`);
    },
  );

  r.action(
    r.leaf(app, 'delete <name>', 'delete an application with its deployment groups (their deployment history, triggers, schedules, plans) and revisions; refused while one of its deployments has not ended', [
      'ferry app delete shop',
      'ferry app delete shop --json   # {groups, deployments, triggers, schedules, plans, revisions}: what was removed',
    ]),
    async (s, [name]) => {
      const app = requireText(name, 'NAME');
      const removed = await s.api().deleteApplication(app);
      if (s.out.json) return s.out.document(removed);
      s.out.line(`deleted application ${app}: removed ${removedText(removed, true)}`);
      s.out.line('hosts keep what is installed; their agents keep running');
    },
  );

  r.action(r.leaf(app, 'list', 'list applications', ['ferry app list', 'ferry app list --json']), async s => {
    const res = await s.api().listApplications();
    if (s.out.json) return s.out.document(res);
    if (res.applications.length === 0) return s.out.line('no applications yet: create one with ferry app create NAME');
    s.out.lines(table(['NAME', 'CREATED'], res.applications.map(a => [a.name, formatTime(a.createdAt, s.config.zone)])));
  });
}
