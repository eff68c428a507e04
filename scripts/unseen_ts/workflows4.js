// TypeScript workflows of the hunt4 round (hunt4.js runs them): conditions with
// timeouts (one timing out, one released by a signal), a patch, a local activity
// retried, nested cancellation scopes (an outer scope cancelled while a heartbeating
// activity, a child and a non-cancellable timer run in it), updates (one rejected by
// its validator), and an activity whose failure's next retry delay outruns its
// schedule-to-close timeout.
const wf = require('@temporalio/workflow');

const { beat } = wf.proxyActivities({
  startToCloseTimeout: '20s',
  heartbeatTimeout: '2s',
  cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 1 },
});
const { later } = wf.proxyActivities({ scheduleToCloseTimeout: '2s' });
const { flakyLocal } = wf.proxyLocalActivities({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '200ms' },
});
const done = wf.defineSignal('done');
const bump = wf.defineUpdate('bump');

async function tsHunt4() {
  let released = false;
  let total = 0;
  wf.setHandler(done, () => { released = true; });
  wf.setHandler(bump, (n) => { total += n; return total; }, {
    validator: (n) => { if (n < 0) throw new Error('negative'); },
  });
  const log = [];
  log.push(`condition: ${await wf.condition(() => released, '500ms')}`);
  if (wf.patched('ts4-patch')) log.push(await flakyLocal(1));
  try {
    log.push(await later());
  } catch (e) {
    log.push(`later: ${e.cause ? e.cause.message : e.message}`);
  }
  const outer = new wf.CancellationScope();
  const inside = outer.run(async () => {
    const act = beat(5);
    const kid = wf.executeChild(tsKid4, {
      workflowId: `${wf.workflowInfo().workflowId}-kid`,
      cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
    });
    const shielded = wf.CancellationScope.nonCancellable(() => wf.sleep(800));
    return Promise.allSettled([act, kid, shielded]);
  });
  await wf.sleep(500);
  outer.cancel();
  for (const r of await inside) log.push(r.status);
  log.push(`released: ${await wf.condition(() => released, '30s')}`);
  return `${log.join('; ')}; total ${total}`;
}

async function tsKid4() {
  try {
    await wf.sleep(60000);
  } catch (e) {
    if (wf.isCancellation(e)) {
      await wf.CancellationScope.nonCancellable(() => wf.sleep(200));
    }
    throw e;
  }
}

module.exports = { tsHunt4, tsKid4 };
