// Runs workflows3.js (the hunt2 round) against a dev server at HH_ADDRESS (default
// 127.0.0.1:17233); then `python ../record_unseen.py ts-hunt2` saves their histories.
const { Worker, NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
const { Client, Connection } = require('@temporalio/client');
const { ApplicationFailure, Context } = require('@temporalio/activity');

const activities = {
  async failing(n) {
    const { attempt } = Context.current().info;
    if (attempt <= n) {
      throw ApplicationFailure.create({ message: `attempt ${attempt}`, nextRetryDelay: '700ms' });
    }
    return `ok on ${attempt}`;
  },
};

async function main() {
  const address = process.env.HH_ADDRESS || '127.0.0.1:17233';
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const path = require.resolve('./workflows3');
  const one = await Worker.create({ connection, taskQueue: 'hh-ts3', workflowsPath: path, activities });
  const two = await Worker.create({ connection, taskQueue: 'hh-ts3-next', workflowsPath: path, activities });
  await Promise.all([
    one.runUntil(async () => {
      await two.runUntil(async () => {
        await client.workflow.start('tsHunt2', { taskQueue: 'hh-ts3', workflowId: 'hh-ts-hunt2', memo: { stage: 'zero' } });
        console.log('ts-hunt2', await client.workflow.getHandle('hh-ts-hunt2').result());
      });
    }),
  ]);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
