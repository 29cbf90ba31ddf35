import { Type } from '@sinclair/typebox'
import { named, ref } from './registry.js'
import { Timestamp } from './common.js'

export const UserInfoSchema = named('UserInfo', Type.Object({
  sub: Type.String({ format: 'uuid', description: 'the user id' }),
  name: Type.Optional(Type.String({ description: 'profile: the full name, or the username when none is set' })),
  preferred_username: Type.Optional(Type.String({ description: 'profile' })),
  updated_at: Type.Optional(Type.Integer({ description: 'profile: seconds since the epoch' })),
  email: Type.Optional(Type.String({ description: 'email' })),
  email_verified: Type.Optional(Type.Boolean({ description: 'email: false until Warden verifies addresses' }))
}, { description: 'OpenID Connect userinfo (OIDC Core section 5.3): the claims the token\'s scopes allow' }))

export const ConsentSchema = named('Consent', Type.Object({
  clientId: Type.String({ format: 'uuid' }),
  clientName: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'what the user allowed the client to ask for' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { description: 'A remembered consent' }))

export const ConsentListSchema = named('ConsentList', Type.Object({
  items: Type.Array(ref(ConsentSchema))
}, { description: 'The caller\'s consents, oldest first' }))
