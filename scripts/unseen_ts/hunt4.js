// Runs workflows4.js (the hunt4 round) against a dev server at HH_ADDRESS (default
// 127.0.0.1:17233); then `HUNT4_PARTS=ts python ../record_unseen.py hunt4` saves the
// histories.
const { Worker, NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
const { Client, Connection } = require('@temporalio/client');
const { ApplicationFailure, Context } = require('@temporalio/activity');

const activities = {
  async beat(seconds) {
    for (let i = 0; i < seconds * 5; i++) {
      Context.current().heartbeat(i);
      await Context.current().sleep(200);
    }
    return 'beaten';
  },
  async later() {
    throw ApplicationFailure.create({ message: 'retry me later', nextRetryDelay: '5s' });
  },
  async flakyLocal(n) {
    const { attempt } = Context.current().info;
    if (attempt <= n) throw new Error(`local attempt ${attempt}`);
    return `local ok on ${attempt}`;
  },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const address = process.env.HH_ADDRESS || '127.0.0.1:17233';
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const worker = await Worker.create({
    connection, taskQueue: 'hh-ts4', workflowsPath: require.resolve('./workflows4'), activities,
  });
  await worker.runUntil(async () => {
    const h = await client.workflow.start('tsHunt4', { taskQueue: 'hh-ts4', workflowId: 'hh-ts-hunt4' });
    await sleep(4000);
    console.log('update', await h.executeUpdate('bump', { args: [2] }));
    try {
      await h.executeUpdate('bump', { args: [-1] });
    } catch (e) {
      console.log('rejected', e.message);
    }
    await sleep(1000);
    await h.signal('done');
    console.log('ts-hunt4', await h.result());
  });
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
