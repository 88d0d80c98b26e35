import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRobotLoginName, robotLoginName, robotNameProblem } from '../../src/access/robot-names.ts';

test('robot login names: robot$name for system robots, robot$project+name for project robots', () => {
  assert.equal(robotLoginName('ci'), 'robot$ci');
  assert.equal(robotLoginName('ci', 'library'), 'robot$library+ci');
  assert.deepEqual(parseRobotLoginName('robot$ci'), { name: 'ci' });
  assert.deepEqual(parseRobotLoginName('robot$library+ci'), { name: 'ci', project: 'library' });
  assert.deepEqual(parseRobotLoginName('robot$my.team+build-bot_2'), {
    name: 'build-bot_2',
    project: 'my.team',
  });
  for (const notOne of [
    'ci',
    'robot$',
    'robot$+ci',
    'robot$library+',
    'robot$library+c+i',
    'robot$CI',
    'Robot$ci',
  ]) {
    assert.equal(parseRobotLoginName(notOne), undefined, notOne);
  }
});

test("robot names follow Harbor's rule", () => {
  for (const good of ['a', 'ci', 'build-bot', 'x.y_z', '0day'])
    assert.equal(robotNameProblem(good), undefined, good);
  for (const bad of ['', 'CI', 'a b', '-a', 'a-', 'a..b', 'a+b', 'a$b', 'x'.repeat(256)]) {
    assert.ok(robotNameProblem(bad), bad);
  }
});
