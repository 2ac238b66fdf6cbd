import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured JSON logger every handler shares, so all lines carry the same service key. */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'batch-gateway',
});
