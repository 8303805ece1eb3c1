import t from 'tap';
import { Endpoints, addressNow } from '../../agent/link/endpoints.js';

t.test('endpoints start at a random replica and go round on each move', async t => {
  const e = new Endpoints(['a:1', 'b:2', 'c:3'], () => 0.5);
  t.equal(e.current(), 'b:2', 'the start is picked by the random draw (0.5 of 3 → the second)');
  t.equal(e.next(), 'c:3');
  t.equal(e.next(), 'a:1', 'wraps around');
  t.equal(e.describe(), 'a:1,b:2,c:3 (on a:1)');
  t.equal(new Endpoints(['a:1', 'b:2'], () => 0.999999).current(), 'b:2');
});

t.test('one address behaves as before', async t => {
  const e = new Endpoints(['only:7420']);
  t.equal(e.current(), 'only:7420');
  t.equal(e.next(), 'only:7420');
  t.equal(e.describe(), 'only:7420');
  t.throws(() => new Endpoints([]), /no coordinator address/);
});

t.test('an address is fixed or read at each use', async t => {
  let now = 'x:1';
  const read = () => now;
  t.equal(addressNow('fixed:1'), 'fixed:1');
  t.equal(addressNow(read), 'x:1');
  now = 'y:2';
  t.equal(addressNow(read), 'y:2');
});
