import { synthStack, rolesOf } from '../../__tests__/helpers/synth';
import { BatchEnvironment } from '../../modules/batch-env';
import { MinimalNetwork } from '../../modules/network';
import { StreamTrigger } from '../../modules/stream-trigger';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { grantStartExecution } from '../../modules/shared/state-machine';
import { ServiceRole } from '../../modules/shared/iam';
it('x', () => {
  const a = synthStack((s) => { const b = new BatchEnvironment(s, 'batch', { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'], jobDefinitions: [{ name: 'hello', image: 'busybox', command: ['echo', 'Ref::who'], parameters: { who: 'x' } }], assignPublicIp: true });
    const r = new ServiceRole(s, 'caller', { servicePrincipal: 'states.amazonaws.com' }); b.grantSubmitJob(r); b.grantDescribeJobs(r); b.grantTerminateJob(r); });
  console.log(JSON.stringify(a, null, 1)); console.log(JSON.stringify(rolesOf(a), null, 1));
  const e = synthStack((s) => { new BatchEnvironment(s, 'batch', { computeType: 'SPOT', subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'], jobDefinitions: [{ name: 'hello', image: 'busybox', vcpu: 1, memoryMiB: 1000 }] }); });
  console.log(JSON.stringify(e.resource, null, 1));
  const n = synthStack((s) => { new MinimalNetwork(s, 'net'); });
  console.log(JSON.stringify(n, null, 1));
  const t = synthStack((s) => { const table = new RunRequestsTable(s, 'table'); new StreamTrigger(s, 'trigger', { table, stateMachine: { stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m', grantStartExecution(g) { grantStartExecution(g, this.stateMachineArn); } } }); });
  console.log(JSON.stringify(t, null, 1)); console.log(JSON.stringify(rolesOf(t), null, 1));
});
