import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { Construct } from 'constructs';
import { RUN_REQUEST_KEY, RUN_REQUEST_TTL_ATTRIBUTE } from '../../contract';
import { IGrantable } from '../shared/iam';
import { physicalName } from '../shared/naming';

/** The run-requests table as other modules need it: created here or passed in. */
export interface IRunRequestsTable {
  readonly tableName: string;
  readonly tableArn: string;
  /** ARN of the table's stream (new images). */
  readonly streamArn: string;
  /** Lets `grantee` update an item's status (write-back). No reads, puts, deletes or scans. */
  grantUpdateStatus(grantee: IGrantable): void;
  /** Lets `grantee` read one item (GetItem). */
  grantReadItem(grantee: IGrantable): void;
  /** Lets `grantee` read the stream (what a stream-triggered Lambda needs). */
  grantStreamRead(grantee: IGrantable): void;
}

export interface RunRequestsTableProps {
  /** @default - derived from the construct path */
  readonly tableName?: string;
  /**
   * Customer-managed KMS key for server-side encryption.
   * @default - the AWS-managed key `aws/dynamodb`
   */
  readonly kmsKeyArn?: string;
  /** @default true */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Protects the table against `terraform destroy` and replacement by API.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The run-requests table: hash key `runRequestID`, stream of new images, on-demand, encrypted,
 * point-in-time recovery, TTL on `expiresAt` (set when a request is finished).
 */
export class RunRequestsTable extends Construct implements IRunRequestsTable {
  public readonly tableName: string;
  public readonly tableArn: string;
  public readonly streamArn: string;
  public readonly resource: DynamodbTable;

  constructor(scope: Construct, id: string, props: RunRequestsTableProps = {}) {
    super(scope, id);
    this.resource = new DynamodbTable(this, 'table', {
      name: props.tableName ?? physicalName(this, '', 255),
      billingMode: 'PAY_PER_REQUEST',
      hashKey: RUN_REQUEST_KEY,
      attribute: [{ name: RUN_REQUEST_KEY, type: 'S' }],
      streamEnabled: true,
      streamViewType: 'NEW_IMAGE',
      serverSideEncryption: { enabled: true, kmsKeyArn: props.kmsKeyArn },
      pointInTimeRecovery: { enabled: props.pointInTimeRecovery ?? true },
      ttl: { attributeName: RUN_REQUEST_TTL_ATTRIBUTE, enabled: true },
      deletionProtectionEnabled: props.deletionProtection ?? true,
    });
    this.tableName = this.resource.name;
    this.tableArn = this.resource.arn;
    this.streamArn = this.resource.streamArn;
  }

  public grantUpdateStatus(grantee: IGrantable): void {
    grantUpdateStatus(grantee, this.tableArn);
  }

  public grantReadItem(grantee: IGrantable): void {
    grantReadItem(grantee, this.tableArn);
  }

  public grantStreamRead(grantee: IGrantable): void {
    grantStreamRead(grantee, this.streamArn);
  }
}

/** Status write-back: update an item (every write is conditional on the item; none reads it). */
export function grantUpdateStatus(grantee: IGrantable, tableArn: string): void {
  grantee.addToPolicy('run-requests-status', [{ actions: ['dynamodb:UpdateItem'], resources: [tableArn] }]);
}

/** One item, by its key (submit-job reads the job it recorded). */
export function grantReadItem(grantee: IGrantable, tableArn: string): void {
  grantee.addToPolicy('run-requests-read', [{ actions: ['dynamodb:GetItem'], resources: [tableArn] }]);
}

/** The stream-read permissions of a stream-triggered Lambda, on one table's stream. */
export function grantStreamRead(grantee: IGrantable, streamArn: string): void {
  grantee.addToPolicy('run-requests-stream', [
    {
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      resources: [streamArn],
    },
    // ListStreams supports no resource-level permissions (Service Authorization Reference): only "*".
    { actions: ['dynamodb:ListStreams'], resources: ['*'] },
  ]);
}

/** A table created elsewhere (another stack, or by hand), described by its attributes. */
export interface ExistingRunRequestsTableAttributes {
  readonly tableName: string;
  readonly tableArn: string;
  readonly streamArn: string;
}

/** Wraps an existing table so that modules can use it like one created here. */
export class ExistingRunRequestsTable extends Construct implements IRunRequestsTable {
  public readonly tableName: string;
  public readonly tableArn: string;
  public readonly streamArn: string;

  constructor(scope: Construct, id: string, attrs: ExistingRunRequestsTableAttributes) {
    super(scope, id);
    this.tableName = attrs.tableName;
    this.tableArn = attrs.tableArn;
    this.streamArn = attrs.streamArn;
  }

  public grantUpdateStatus(grantee: IGrantable): void {
    grantUpdateStatus(grantee, this.tableArn);
  }

  public grantReadItem(grantee: IGrantable): void {
    grantReadItem(grantee, this.tableArn);
  }

  public grantStreamRead(grantee: IGrantable): void {
    grantStreamRead(grantee, this.streamArn);
  }
}
