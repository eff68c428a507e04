// TypeScript workflows of the hunt2 round (hunt2.js runs them): patches, memo upserts,
// a failure's nextRetryDelay, a continue-as-new to another type and task queue.
const wf = require('@temporalio/workflow');

const { failing } = wf.proxyActivities({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '100ms', maximumAttempts: 5 },
});

async function tsHunt2() {
  const first = wf.patched('ts-p-one') ? 'patched' : 'old';
  wf.deprecatePatch('ts-p-two');
  wf.upsertMemo({ stage: 'one', n: 1 });
  const got = await failing(2);
  wf.upsertMemo({ stage: 'two', n: null });
  await wf.sleep(100);
  const next = wf.makeContinueAsNewFunc({ workflowType: 'tsLanded', taskQueue: 'hh-ts3-next' });
  return next(`${first} ${got}`);
}

async function tsLanded(arg) {
  await wf.sleep(100);
  return `landed with ${arg}`;
}

module.exports = { tsHunt2, tsLanded };
