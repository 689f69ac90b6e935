import type { AttachmentSummary } from '../../src-main/api/types.js';
import { attachmentDetails, describeAttachments } from '../lib/format.js';
import { Badge } from './ui.js';

/**
 * Whether a tag is signed and what is attached (signatures, attestations,
 * SBOMs), and whether those are cached: a tag whose attachments are not all
 * cached cannot be verified offline. data-signed and data-cached are for tests.
 */
export function AttachmentsBadge({ summary }: { summary: AttachmentSummary | undefined }) {
  if (!summary) return <span className="muted">—</span>;
  const total = summary.signatures + summary.attestations + summary.sboms + summary.other;
  const signed = summary.signatures > 0;
  const tone = !signed ? 'neutral' : summary.cached === total ? 'good' : 'warn';
  const details = attachmentDetails(summary);
  return (
    <span data-testid="attachments" data-signed={signed ? 'yes' : 'no'} data-cached={`${summary.cached}/${total}`} className="state-badge-wrap">
      <Badge tone={tone} title={describeAttachments(summary)}>{signed ? 'Signed' : 'Unsigned'}</Badge>
      {details ? <span className="muted"> {details}</span> : null}
    </span>
  );
}
