import t from 'tap';
import { LIFECYCLE_EVENTS, likelyEvent, orderEvents } from '../../common/lifecycle/events.js';

t.test('orderEvents keeps the lifecycle order and puts each custom event after the lifecycle event it follows', async t => {
  const cases: { name: string; requested?: string[]; customs: [string, string][] }[] = [
    { name: 'no request: the lifecycle events only', customs: [] },
    { name: 'after the event it follows (the AWS agent\'s fixture)', requested: ['ApplicationStart', 'CustomEvent'], customs: [['CustomEvent', 'ApplicationStart']] },
    { name: 'following no lifecycle event: after Install, as codedeploy-local puts DownloadBundle and Install first', requested: ['CustomEvent', 'ValidateService'], customs: [['CustomEvent', 'Install']] },
    { name: 'several after one event keep their order', requested: ['AfterInstall', 'B', 'A'], customs: [['B', 'AfterInstall'], ['A', 'B']] },
    { name: 'a custom event named twice runs once', requested: ['ValidateService', 'X', 'X'], customs: [['X', 'ValidateService']] },
    { name: 'the lifecycle events given out of order still run in lifecycle order', requested: ['ValidateService', 'C', 'BeforeInstall', 'D'], customs: [['C', 'ValidateService'], ['D', 'BeforeInstall']] },
  ];
  for (const c of cases) {
    const order = orderEvents(c.requested);
    t.strictSame(order.filter(e => (LIFECYCLE_EVENTS as readonly string[]).includes(e)), [...LIFECYCLE_EVENTS], `${c.name}: lifecycle order`);
    t.equal(order.length, LIFECYCLE_EVENTS.length + c.customs.length, `${c.name}: every custom event once`);
    for (const [custom, after] of c.customs) t.equal(order.indexOf(custom), order.indexOf(after) + 1, `${c.name}: ${custom} right after ${after}`);
  }
});

t.test('likelyEvent names the lifecycle event a custom-looking name is probably a typo of', async t => {
  const cases: [string, string | undefined][] = [
    ['ApplicationStrat', 'ApplicationStart'],
    ['applicationstart', 'ApplicationStart'],
    ['AfterInstal', 'AfterInstall'],
    ['CustomEvent', undefined],
    ['Migrate', undefined],
  ];
  for (const [name, want] of cases) t.equal(likelyEvent(name), want, name);
});
