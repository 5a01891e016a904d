export { webhooks } from './webhooks.js'
export type { WebhooksOptions } from './options.js'
export type { WebhooksService, WebhookPage, DeliverDueResult } from './webhooks-service.js'
export { webhookEndpoints } from './endpoints.js'
export {
  verifyWebhookSignature,
  signWebhook,
  HEADER_ID,
  HEADER_TIMESTAMP,
  HEADER_SIGNATURE,
  HEADER_REPLAY,
  SECRET_PREFIX,
  type VerifyWebhookInput,
  type VerifyWebhookResult,
} from './signature.js'
export type { WebhookTables } from './tables.js'
export type {
  CreateWebhookEndpointInput,
  UpdateWebhookEndpointInput,
  RotateWebhookSecretInput,
  ListWebhookEndpointsInput,
  ListWebhookDeliveriesInput,
  ListWebhookAttemptsInput,
  DeliverDueInput,
  PruneWebhooksInput,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookDelivery,
  WebhookAttempt,
} from './schemas.js'
