// Runs the TypeScript workflows of workflows.js and workflows2.js against a server at
// HH_ADDRESS (default: a dev server on 127.0.0.1:17233); then `python
// scripts/record_unseen.py ts` saves their histories.
const { Worker, NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
const { Client, Connection, WithStartWorkflowOperation } = require('@temporalio/client');
const { Context } = require('@temporalio/activity');

const activities = {
  async flaky(n) {
    const { attempt } = Context.current().info;
    if (attempt < n) throw new Error(`attempt ${attempt} of flaky(${n})`);
    return `ok on ${attempt}`;
  },
  async heartbeater(name) {
    const ctx = Context.current();
    for (let i = 0; ; i++) {
      ctx.heartbeat(i);
      try { await ctx.sleep(200); } catch (e) { if (name === 'wait') return 'cancelled ' + name; throw e; }
    }
  },
  async flakyLocal(n) {
    const { attempt } = Context.current().info;
    if (attempt < n) throw new Error('local attempt ' + attempt);
    return 'local ok on ' + attempt;
  },
  async quick(x) { return x; },
};

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const address = process.env.HH_ADDRESS || '127.0.0.1:17233';
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const one = await Worker.create({ connection, taskQueue: 'hh-ts', workflowsPath: require.resolve('./workflows'), activities });
  await one.runUntil(async () => {
    const h = await client.workflow.start('tsMixed', { args: [0], taskQueue: 'hh-ts', workflowId: 'hh-ts-mixed' });
    await pause(3000);
    await h.signal('go');
    await pause(4000);
    const h2 = client.workflow.getHandle('hh-ts-mixed');
    console.log('update', await h2.executeUpdate('bump', { args: [5] }));
    try { await h2.executeUpdate('bump', { args: [-1] }); } catch (e) { console.log('rejected', e.message); }
    console.log('query', await h2.query('count'));
    await h2.signal('go');
    console.log('ts-mixed', JSON.stringify(await h2.result()));
    const f = await client.workflow.start('tsFails', { taskQueue: 'hh-ts', workflowId: 'hh-ts-fails' });
    try { await f.result(); } catch (e) { console.log('ts-fails:', e.cause && e.cause.message); }
  });
  const two = await Worker.create({ connection, taskQueue: 'hh-ts2', workflowsPath: require.resolve('./workflows2'), activities });
  await two.runUntil(async () => {
    const c = await client.workflow.start('tsCancels', { taskQueue: 'hh-ts2', workflowId: 'hh-ts-cancels' });
    console.log('ts-cancels', JSON.stringify(await c.result()));
    const b = await client.workflow.start('tsBadCode', { taskQueue: 'hh-ts2', workflowId: 'hh-ts-badcode' });
    await pause(2500);
    await b.terminate('stuck on a plain error');
    const s = await client.workflow.signalWithStart('tsSignalled', { taskQueue: 'hh-ts2', workflowId: 'hh-ts-signalled', signal: 'go', signalArgs: [] });
    const op = new WithStartWorkflowOperation('tsSignalled', { workflowId: 'hh-ts-signalled', taskQueue: 'hh-ts2', workflowIdConflictPolicy: 'USE_EXISTING' });
    console.log('update-with-start', await client.workflow.executeUpdateWithStart('bump', { args: [2], startWorkflowOperation: op }));
    await s.signal('go');
    await pause(500);
    await s.cancel();
    try { await s.result(); } catch (e) { console.log('ts-signalled:', e.cause && e.cause.name); }
    await pause(1000);
  });
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
