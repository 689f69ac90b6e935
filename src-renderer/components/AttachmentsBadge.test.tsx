import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { AttachmentsBadge } from './AttachmentsBadge.js';

describe('AttachmentsBadge', () => {
  it('says signed, what is attached and whether all of it is cached', () => {
    render(<AttachmentsBadge summary={{ signatures: 2, attestations: 1, sboms: 1, other: 0, cached: 3 }} />);
    const badge = screen.getByTestId('attachments');
    expect(badge.dataset.signed).toBe('yes');
    expect(badge.dataset.cached).toBe('3/4');
    expect(badge.textContent).toBe('Signed 2 signatures, 1 attestation, 1 SBOM (3 of 4 cached)');
  });

  it('says unsigned when nothing is attached, and a dash for a tag not cached', () => {
    const { unmount } = render(<AttachmentsBadge summary={{ signatures: 0, attestations: 0, sboms: 0, other: 0, cached: 0 }} />);
    expect(screen.getByTestId('attachments').textContent).toBe('Unsigned');
    expect(screen.getByTestId('attachments').dataset.signed).toBe('no');
    unmount();
    render(<AttachmentsBadge summary={undefined} />);
    expect(screen.queryByTestId('attachments')).toBeNull();
  });

  it('an SBOM without a signature is still unsigned', () => {
    render(<AttachmentsBadge summary={{ signatures: 0, attestations: 0, sboms: 1, other: 0, cached: 1 }} />);
    expect(screen.getByTestId('attachments').textContent).toBe('Unsigned 1 SBOM (all 1 cached)');
  });
});
