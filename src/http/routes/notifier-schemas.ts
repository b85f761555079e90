import { Type } from 'typebox';
import { CHANNELS, CONTACT_KINDS } from '../../notifier/channel-names.js';

/**
 * TypeBox schemas of the notifier's configuration API. As in ../schemas.ts, every string and
 * array has a generous bound so validation stays cheap; the exact rules (E.164, IANA zones,
 * BCP 47, channel names) are checked by the use cases, which name the field at fault.
 */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Str = (maxLength: number, description?: string) => Type.String({ maxLength, ...(description ? { description } : {}) });

export const ContactInput = Type.Object(
  {
    kind: Type.String({ maxLength: 32, description: CONTACT_KINDS.join(', ') }),
    address: Str(4096, 'E-mail address, E.164 number, push endpoint, device token or webhook URL.'),
    keys: Type.Optional(Type.Object({ p256dh: Str(512), auth: Str(512) }, { additionalProperties: false, description: 'Web push only.' })),
  },
  { additionalProperties: false },
);

export const RecipientBody = Type.Object(
  {
    id: Str(256, 'Your id for the recipient: 1–128 of A-Z a-z 0-9 _ - . : @'),
    locale: Type.Optional(Str(64, 'BCP 47, e.g. de-AT (default NOTIFIER default locale).')),
    time_zone: Type.Optional(Str(128, 'IANA zone, e.g. Europe/Berlin.')),
    contacts: Type.Optional(Type.Array(ContactInput, { maxItems: 100 })),
  },
  { additionalProperties: false },
);

export const RecipientPatchBody = Type.Object(
  { locale: Type.Optional(Str(64)), time_zone: Type.Optional(Str(128)) },
  { additionalProperties: false },
);

export const Contact = Type.Object({
  id: Type.Integer(),
  kind: Type.String(),
  address: Type.String(),
  valid: Type.Boolean(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const Recipient = Type.Object({
  id: Type.String(),
  locale: Type.String(),
  time_zone: Type.String(),
  contacts: Type.Array(Contact),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const ContactPatchBody = Type.Object({ valid: Type.Boolean() }, { additionalProperties: false });

export const RecipientParams = Type.Object({ id: Str(256) });
export const ContactParams = Type.Object({ id: Str(256), contactId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

const ChannelSwitches = Type.Record(Type.String({ maxLength: 32 }), Type.Boolean());
export const PreferencesBody = Type.Object(
  {
    opt_out: Type.Optional(Type.Boolean({ description: 'Nothing but critical notifications.' })),
    categories: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Object({ enabled: Type.Optional(Type.Boolean()), channels: Type.Optional(ChannelSwitches) }, { additionalProperties: false }),
      ),
    ),
    quiet_hours: Type.Optional(
      Nullable(Type.Object({ start: Str(5, 'HH:MM local'), end: Str(5, 'HH:MM local') }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);

export const Preferences = Type.Object({
  opt_out: Type.Boolean(),
  categories: Type.Record(Type.String(), Type.Object({ enabled: Type.Boolean(), channels: ChannelSwitches })),
  quiet_hours: Nullable(Type.Object({ start: Type.String(), end: Type.String() })),
});

const ChannelList = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 20, description: CHANNELS.join(', ') });
const CategoryFields = {
  description: Type.Optional(Str(1000)),
  default_channels: ChannelList,
  fallback: Type.Optional(ChannelList),
  critical: Type.Optional(Type.Boolean({ description: 'Bypasses opt-outs and quiet hours.' })),
  frequency_cap: Type.Optional(Nullable(Type.Object({ count: Type.Integer(), window_seconds: Type.Integer() }, { additionalProperties: false }))),
};
export const CategoryCreateBody = Type.Object({ name: Str(256), ...CategoryFields }, { additionalProperties: false });
export const CategoryPutBody = Type.Object(CategoryFields, { additionalProperties: false });
export const CategoryParams = Type.Object({ name: Str(256) });

export const Category = Type.Object({
  name: Type.String(),
  description: Type.String(),
  default_channels: Type.Array(Type.String()),
  fallback: Type.Array(Type.String()),
  critical: Type.Boolean(),
  frequency_cap: Nullable(Type.Object({ count: Type.Integer(), window_seconds: Type.Integer() })),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const TemplateParams = Type.Object({ name: Str(256), channel: Str(32), locale: Str(64) });
export const TemplateNameParams = Type.Object({ name: Str(256) });
export const TemplateBody = Type.Object(
  {
    subject: Type.Optional(Nullable(Str(1_000_000))),
    body: Str(1_000_000),
    html: Type.Optional(Nullable(Str(1_000_000))),
  },
  { additionalProperties: false },
);
export const Template = Type.Object({
  name: Type.String(),
  channel: Type.String(),
  locale: Type.String(),
  subject: Nullable(Type.String()),
  body: Type.String(),
  html: Nullable(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export const RenderBody = Type.Object(
  { channel: Str(32), locale: Str(64), data: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: false },
);
export const Rendered = Type.Object({ locale: Type.String(), subject: Nullable(Type.String()), body: Type.String(), html: Nullable(Type.String()) });

export const PageQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ description: '1–100, default 20.' })), cursor: Type.Optional(Str(2048)) },
  { additionalProperties: false },
);
export const TemplateListQuery = Type.Object(
  { limit: Type.Optional(Type.Integer()), cursor: Type.Optional(Str(2048)), name: Type.Optional(Str(256)) },
  { additionalProperties: false },
);
