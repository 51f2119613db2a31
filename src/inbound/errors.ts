// The only error the inbound parser and authenticator ever produce. The endpoint turns it into an
// HTTP reply as is: `status` is the response code, `message` names the offending field.

export type InboundStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500;

export class InboundError extends Error {
    constructor(
        public readonly status: InboundStatus,
        message: string,
        /** Path of the offending field (`attachments[2].url`), when one field is to blame. */
        public readonly field?: string,
    ) {
        super(field ? `${field}: ${message}` : message);
        this.name = 'InboundError';
    }
}

export function isInboundError(value: unknown): value is InboundError {
    return value instanceof InboundError;
}
