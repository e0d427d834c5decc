import { Type } from '@sinclair/typebox';
import { IPV4_PATTERN } from './patterns.js';

// The field schemas several contexts' events share, so a container id or a node name means the same
// thing in every event that carries one.

/** A container id: 64 lowercase hex characters, as docker makes them. */
export const ContainerId = Type.String({ pattern: '^[0-9a-f]{64}$', description: '64 hex characters' });
/** A node agent's name (hostname-like). */
export const NodeName = Type.String({ minLength: 1, maxLength: 253 });
/** An absolute path on the node. */
export const AbsolutePath = Type.String({ pattern: '^/', maxLength: 4096 });

/** A dotted-quad IPv4 address. */
export const Ipv4Address = Type.String({ pattern: IPV4_PATTERN, maxLength: 15, description: 'IPv4 address' });
