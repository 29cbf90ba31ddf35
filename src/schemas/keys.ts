import { Type } from '@sinclair/typebox'
import { Timestamp } from './common.js'
import { named, ref } from './registry.js'

export const KeySchema = named('Key', Type.Object({
  kid: Type.String({ description: 'RFC 7638 thumbprint of the public key' }),
  alg: Type.String(),
  status: Type.Union([Type.Literal('next'), Type.Literal('active'), Type.Literal('published'), Type.Literal('retired')], {
    description: '`next` is announced by a rotation: in the JWKS already, it signs from `activatesAt` on; `active` signs new tokens; `published` no longer signs but stays in the JWKS until the last token it signed has expired (`retiresAt`); `retired` is gone from the JWKS'
  }),
  createdAt: Timestamp,
  activatesAt: Type.String({ format: 'date-time', description: 'when the key starts (or started) signing' }),
  retiresAt: Type.Union([Timestamp, Type.Null()], { description: 'when the key leaves the JWKS; null while no newer key is announced' })
}, { description: 'A signing key (never its private part)' }))

export const KeyListSchema = named('KeyList', Type.Object({ items: Type.Array(ref(KeySchema), { description: 'newest first' }) }))

export const RotatedKeySchema = named('RotatedKey', Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  createdAt: Timestamp,
  activatesAt: Type.String({ format: 'date-time', description: 'when the new key starts signing' })
}, { description: 'The key a rotation announced' }))
