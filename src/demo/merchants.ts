/**
 * The demo's config/merchants.yaml (docs/notifications.md, "The merchant's brand"): the brand of the
 * sample refunds' merchant, M-DEMO, so the demo's customer emails show a merchant's name, sender,
 * Reply-To, support contacts and accent. Written into the demo's own CONFIG_DIR (demo-out/config),
 * never into the shipped config/, where it would brand a real deployment's emails.
 */
export const DEMO_MERCHANTS_YAML = `# The demo's merchants (docs/notifications.md, "The merchant's brand").
# Customer emails of refunds whose merchantAccountId is M-DEMO carry this brand; any other
# merchant's would carry the service's defaults (EMAIL_FROM, the shipped wording).
merchants:
  M-DEMO:
    displayName: Demo Shop
    from: '"Demo Shop" <hello@demo-shop.example>'
    replyTo: Demo Shop Care <care@demo-shop.example>
    supportEmail: care@demo-shop.example
    supportUrl: https://demo-shop.example/help
    supportPhone: +1 (555) 010-0123
    # Not reachable (.example never resolves): a mail client shows the alt text, "Demo Shop".
    logoUrl: https://demo-shop.example/logo.png
    accentColor: '#6b3fa0'
`;
