import { Command } from 'commander';

// The `ferry` CLI, a client of the coordinator's ControlService. Its commands land with the
// coordinator issue; until then this entry point only describes itself.
const program = new Command('ferry')
  .description('Ferry CLI: create applications, push revisions, run and watch deployments')
  .version('0.1.0')
  .addHelpText('after', `
Not available in this build yet: the fleet commands arrive with the coordinator.
Today, run a deployment on one machine with:  ferry-agent local --bundle-location DIR`);
program.parse(process.argv);
program.help({ error: process.argv.length <= 2 });
