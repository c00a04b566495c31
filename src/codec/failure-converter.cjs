/**
 * The failure converter of every leadcycle client and worker (and of the workflow bundle): a failure's
 * message and stack trace go into an encoded payload, so the payload codec encrypts them like any
 * other payload (Temporal stores "Encoded failure" in the clear). The SDK loads it by path with
 * require() (DataConverter.failureConverterPath), hence CommonJS.
 */
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
