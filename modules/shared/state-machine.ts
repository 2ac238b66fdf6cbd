import { IGrantable } from './iam';

/** What other modules need of a Step Functions state machine, created here or elsewhere. */
export interface IStateMachine {
  readonly stateMachineArn: string;
  /** Lets `grantee` start executions of this state machine (and nothing else). */
  grantStartExecution(grantee: IGrantable): void;
}

/** The standard grant: `states:StartExecution` on one state machine. */
export function grantStartExecution(grantee: IGrantable, stateMachineArn: string): void {
  grantee.addToPolicy('start-execution', [{ actions: ['states:StartExecution'], resources: [stateMachineArn] }]);
}
