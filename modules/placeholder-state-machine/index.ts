import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine';
import { Construct } from 'constructs';
import { ServiceRole } from '../shared/iam';
import { physicalName } from '../shared/naming';
import { IStateMachine, grantStartExecution } from '../shared/state-machine';
import { IGrantable } from '../shared/iam';

/**
 * PLACEHOLDER until the orchestration module lands: a state machine that accepts an execution
 * and ends at once, so the stream trigger has something real to start. It submits nothing and
 * its role has no permissions.
 */
export class PlaceholderStateMachine extends Construct implements IStateMachine {
  public readonly stateMachineArn: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const role = new ServiceRole(this, 'role', {
      servicePrincipal: 'states.amazonaws.com',
      roleName: physicalName(this, 'role'),
      description: 'Role of the placeholder state machine (no permissions)',
    });
    const machine = new SfnStateMachine(this, 'state-machine', {
      name: physicalName(this, '', 80),
      type: 'STANDARD',
      roleArn: role.roleArn,
      definition: JSON.stringify({
        Comment: 'PLACEHOLDER: replaced by the orchestration module; records nothing, submits nothing.',
        StartAt: 'Placeholder',
        // The role ARN is unknown until apply, which defers the provider's plan-time definition
        // check (an AWS API call) to apply: the offline plan stays offline.
        States: { Placeholder: { Type: 'Pass', Result: { placeholder: true, role: role.roleArn }, ResultPath: '$.placeholder', End: true } },
      }),
    });
    this.stateMachineArn = machine.arn;
  }

  public grantStartExecution(grantee: IGrantable): void {
    grantStartExecution(grantee, this.stateMachineArn);
  }
}
