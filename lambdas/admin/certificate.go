package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Kong's certificates take a "snis" shorthand: the names become sni
// entities of the certificate, and a certificate is answered with the
// names of its snis.

// saveCertificate saves c as saveEntity does and turns its snis shorthand
// into sni entities. Without the shorthand (nil) the certificate's snis are
// left alone; with it, they are made to match: an sni is removed only if
// it still belongs to c.
func (h *Handler) saveCertificate(r *http.Request, c *model.Certificate, cur current) error {
	ctx := r.Context()
	names := c.SNIs
	c.SNIs = nil
	if names != nil {
		slices.Sort(names)
		names = slices.Compact(names)
	}
	for _, name := range names {
		if err := (&model.SNI{Name: name, Certificate: &model.Ref{ID: c.ID}}).Validate(); err != nil {
			return fieldError("snis", fmt.Sprintf("invalid sni '%s'", name))
		}
		sni, err := h.opts.Store.Get(ctx, model.KindSNI, name)
		if err == nil && refID(sni, "certificate") != c.ID {
			return store.UniqueViolation(&model.SNI{Name: name}, model.UniqueKey{Field: "name", Value: name})
		}
		if err != nil && !isNotFound(err) {
			return err
		}
	}
	if err := h.saveEntity(r, c, cur); err != nil {
		return err
	}
	if names == nil {
		return nil
	}
	existing, err := h.certificateSNIs(ctx, c.ID)
	if err != nil {
		return err
	}
	now := h.now().Unix()
	for _, name := range names {
		if slices.ContainsFunc(existing, func(s *model.SNI) bool { return s.Name == name }) {
			continue
		}
		sni := &model.SNI{Base: model.Base{ID: uuid.NewString(), CreatedAt: now, UpdatedAt: now},
			Name: name, Certificate: &model.Ref{ID: c.ID}}
		if _, err := h.opts.Store.Create(ctx, sni, origin(r)); err != nil {
			return err
		}
	}
	for _, s := range existing {
		if !slices.Contains(names, s.Name) {
			if err := h.deleteSNI(r, c.ID, s.ID); err != nil {
				return err
			}
		}
	}
	c.SNIs = names
	return nil
}

// deleteSNI deletes the sni with id if it still belongs to the certificate
// certID, conditionally on the version that shows it does.
func (h *Handler) deleteSNI(r *http.Request, certID, id string) error {
	e, ver, err := h.opts.Store.GetVersioned(r.Context(), model.KindSNI, id)
	if isNotFound(err) || (err == nil && refID(e, "certificate") != certID) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = h.opts.Store.Delete(r.Context(), model.KindSNI, id, ver, origin(r))
	return err
}

// certificateSNIs lists the snis of the certificate with id.
func (h *Handler) certificateSNIs(ctx context.Context, id string) ([]*model.SNI, error) {
	var out []*model.SNI
	opts := store.ListOptions{Size: maxSize, Parent: &model.Reference{Field: "certificate", Kind: model.KindCertificate, ID: id}}
	for {
		page, err := h.opts.Store.List(ctx, model.KindSNI, opts)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if s, ok := e.(*model.SNI); ok {
				out = append(out, s)
			}
		}
		if page.Next == "" {
			return out, nil
		}
		opts.Offset = page.Next
	}
}

// withSNIs fills a certificate's snis names for a response.
func (h *Handler) withSNIs(ctx context.Context, c *model.Certificate) error {
	snis, err := h.certificateSNIs(ctx, c.ID)
	if err != nil {
		return err
	}
	c.SNIs = make([]string, 0, len(snis))
	for _, s := range snis {
		c.SNIs = append(c.SNIs, s.Name)
	}
	slices.Sort(c.SNIs)
	return nil
}
