/** batch-gateway's modules, from one entry point: `BatchGateway` is the whole pipeline; the others are its parts. */
export * from './gateway';
export * from './api-ingest';
export * from './stream-trigger';
export * from './batch-env';
export * from './network';
export * from './orchestration';
export * from './notifications';
export * from './artifacts';
export * from './barcode-route';
export * from './monitoring';
export * from './shared/state-machine';
export * from './shared/iam';
export * from './shared/lambda-function';
export * from './shared/naming';
