/* SPDX-License-Identifier: MIT */
#include "pci/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int irq_router_init(struct irq_router *r, const struct kvm_ops *ops, void *ctx)
{
	*r = (struct irq_router){ .ops = ops, .ctx = ctx, .next_gsi = IRQ_FIRST_MSI_GSI };
	pthread_mutex_init(&r->lock, NULL);
	int max = ops->check_extension(ctx, KVM_CAP_IRQ_ROUTING);
	r->max_gsi = max > 0 ? (unsigned)max : 0;
	return 0;
}

void irq_router_destroy(struct irq_router *r)
{
	free(r->msi);
	r->msi = NULL;
	r->nmsi = 0;
	pthread_mutex_destroy(&r->lock);
}

int irq_gsi_alloc(struct irq_router *r, unsigned n, unsigned *first)
{
	if (!r->max_gsi)
		return -ENOTSUP;
	if (n == 0)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	int ret = -ENOSPC;
	if (r->next_gsi < r->max_gsi && n <= r->max_gsi - r->next_gsi) {
		unsigned total = r->next_gsi + n - IRQ_FIRST_MSI_GSI;
		struct irq_msi_route *m = realloc(r->msi, total * sizeof(*m));
		if (!m) {
			ret = -ENOMEM;
		} else {
			memset(m + r->nmsi, 0, (total - r->nmsi) * sizeof(*m));
			r->msi = m;
			r->nmsi = total;
			*first = r->next_gsi;
			r->next_gsi += n;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static struct kvm_irq_routing *build(const struct irq_router *r)
{
	unsigned n = IRQ_DEFAULT_ROUTES;
	for (unsigned i = 0; i < r->nmsi; i++)
		n += r->msi[i].routed;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
	if (!t)
		return NULL;
	struct kvm_irq_routing_entry *e = t->entries;
	for (unsigned pin = 0; pin < IRQ_IOAPIC_PINS; pin++)
		*e++ = (struct kvm_irq_routing_entry){
			.gsi = pin, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = pin },
		};
	for (unsigned gsi = 0; gsi < IRQ_PIC_PINS; gsi++) {
		if (gsi == IRQ_PIC_CASCADE)
			continue;
		*e++ = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = gsi < IRQ_PIC_PINS_EACH ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			               .pin = gsi % IRQ_PIC_PINS_EACH },
		};
	}
	for (unsigned i = 0; i < r->nmsi; i++) {
		if (!r->msi[i].routed)
			continue;
		*e++ = (struct kvm_irq_routing_entry){
			.gsi = IRQ_FIRST_MSI_GSI + i, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)r->msi[i].addr, .address_hi = (uint32_t)(r->msi[i].addr >> 32),
			           .data = r->msi[i].data },
		};
	}
	t->nr = n;
	return t;
}

struct kvm_irq_routing *irq_table_build(struct irq_router *r)
{
	pthread_mutex_lock(&r->lock);
	struct kvm_irq_routing *t = build(r);
	pthread_mutex_unlock(&r->lock);
	return t;
}

int irq_msi_route(struct irq_router *r, unsigned gsi, uint64_t addr, uint32_t data)
{
	pthread_mutex_lock(&r->lock);
	int ret = -EINVAL;
	if (gsi >= IRQ_FIRST_MSI_GSI && gsi - IRQ_FIRST_MSI_GSI < r->nmsi) {
		struct irq_msi_route *m = &r->msi[gsi - IRQ_FIRST_MSI_GSI];
		ret = 0;
		if (!m->routed || m->addr != addr || m->data != data) {
			struct irq_msi_route old = *m;
			*m = (struct irq_msi_route){ .routed = true, .addr = addr, .data = data };
			struct kvm_irq_routing *t = build(r);
			ret = t ? r->ops->set_gsi_routing(r->ctx, t) : -ENOMEM;
			free(t);
			if (ret) {
				*m = old;
				pr_warn("KVM_SET_GSI_ROUTING (GSI %u): %s", gsi, strerror(-ret));
			} else {
				r->commits++;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_irqfd(struct irq_router *r, int fd, unsigned gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi };
	if (!assign)
		req.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		req.flags = KVM_IRQFD_FLAG_RESAMPLE;
		req.resamplefd = (uint32_t)resample_fd;
	}
	return r->ops->irqfd(r->ctx, &req);
}

unsigned irq_intx_gsi(unsigned slot, unsigned pin)
{
	return IRQ_INTX_FIRST_GSI + (slot + pin - 1) % IRQ_INTX_LINES;
}

int irq_intx_change(struct irq_router *r, unsigned gsi, bool was, bool now)
{
	if (gsi < IRQ_INTX_FIRST_GSI || gsi >= IRQ_INTX_FIRST_GSI + IRQ_INTX_LINES)
		return -EINVAL;
	if (was == now)
		return 0;
	pthread_mutex_lock(&r->lock);
	unsigned *count = &r->intx_count[gsi - IRQ_INTX_FIRST_GSI];
	int ret = 0;
	if (now && (*count)++ == 0)
		ret = r->ops->irq_line(r->ctx, gsi, 1);
	else if (!now && *count && --(*count) == 0)
		ret = r->ops->irq_line(r->ctx, gsi, 0);
	pthread_mutex_unlock(&r->lock);
	return ret;
}
