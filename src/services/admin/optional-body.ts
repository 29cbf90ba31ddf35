import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

/**
 * preValidation hook for bodies whose fields are all optional (`PUT .../roles/{role}`): a request
 * sent without any body validates as `{}` instead of failing "body must be object".
 */
export function emptyBodyAsObject (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
  if (request.body === undefined || request.body === null) request.body = {}
  done()
}
