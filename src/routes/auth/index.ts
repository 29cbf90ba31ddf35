import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const auth: FastifyPluginAsyncTypebox = async () => {}
export default auth
