const wf = require('@temporalio/workflow');
const { proxyActivities, proxyLocalActivities, sleep, condition, defineSignal, setHandler,
        CancellationScope, ActivityCancellationType, ChildWorkflowCancellationType, ParentClosePolicy,
        ApplicationFailure, isCancellation, workflowInfo, defineUpdate } = wf;

const hb = proxyActivities({ startToCloseTimeout: '30s', heartbeatTimeout: '2s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED, retry: { maximumAttempts: 2, initialInterval: '100ms' } });
const abandon = proxyActivities({ startToCloseTimeout: '30s', heartbeatTimeout: '2s',
  cancellationType: ActivityCancellationType.ABANDON });
const tryc = proxyActivities({ startToCloseTimeout: '30s', heartbeatTimeout: '2s',
  cancellationType: ActivityCancellationType.TRY_CANCEL });
const slowLocal = proxyLocalActivities({ startToCloseTimeout: '5s', localRetryThreshold: '1s',
  retry: { initialInterval: '1500ms', backoffCoefficient: 1, maximumAttempts: 3 } });

const go = defineSignal('go');
const bump = defineUpdate('bump');

async function tsSleeper() {
  try { await sleep(60000); } catch (e) {
    if (isCancellation(e)) { await CancellationScope.nonCancellable(() => sleep(200)); }
    throw e;
  }
}

async function tsCancels() {
  const out = [];
  for (const [name, p] of [['wait', hb], ['abandon', abandon], ['try', tryc]]) {
    try {
      await CancellationScope.cancellable(async () => {
        const a = p.heartbeater(name);
        await sleep(700);
        CancellationScope.current().cancel();
        await a;
      });
    } catch (e) { out.push(name + ':' + e.name); }
  }
  const child = await wf.startChild(tsSleeper, { workflowId: workflowInfo().workflowId + '-req',
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL, cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED });
  try { out.push(await slowLocal.flakyLocal(3)); } catch (e) { out.push('local:' + e.name); }
  return out;
}

async function tsBadCode() {
  await sleep(100);
  if (!workflowInfo().unsafe.isReplaying || true) {
    throw new Error('a plain error fails the workflow task, not the workflow');
  }
}

async function tsSignalled() {
  let n = 0;
  setHandler(go, () => { n += 1; });
  setHandler(bump, (by) => { n += by; return n; });
  try {
    await CancellationScope.cancellable(() => condition(() => n >= 10));
  } catch (e) {
    if (isCancellation(e)) {
      await CancellationScope.nonCancellable(() => hb.quick('cleanup'));
    }
    throw e;
  }
  return n;
}

module.exports = { tsSleeper, tsCancels, tsBadCode, tsSignalled };
