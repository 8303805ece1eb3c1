import { Command } from 'commander';

// The coordinator daemon. Its store, gRPC API and scheduler land with the coordinator issue;
// until then this entry point only describes itself.
const program = new Command('ferry-coordinator')
  .description('Ferry coordinator: gRPC API, SQLite store, rollout scheduler and revision store (one process)')
  .version('0.1.0')
  .addHelpText('after', `
Not available in this build yet: the coordinator arrives in the next release.
Today, run a deployment on one machine with:  ferry-agent local --bundle-location DIR`);
program.parse(process.argv);
program.help({ error: process.argv.length <= 2 });
