// SPDX-License-Identifier: GPL-2.0
/*
 * UIO driver for modvmm's ptnetmap-memdev PCI device (1b36:000c, class 0xff).
 *
 * The device exposes one end of a netmap-style pipe: BAR0 holds registers
 * (layout in <modvmm-netmap/netmap_port.h>, following netmap_virt.h's
 * PTNET_MDEV_IO_*), BAR1 the end's shared memory window (netmap_if, CSB,
 * rings, buffers), BAR2 the MSI-X table with one vector per ring.  This
 * driver hands both BARs to userspace through UIO (map 0 = BAR0 registers,
 * map 1 = BAR1 port memory) and turns every MSI-X interrupt into a UIO event;
 * writing 0 or 1 to /dev/uioN masks or unmasks all vectors.  The ring
 * protocol itself runs in userspace (lib/nmguest, <modvmm-netmap/netmap_ring.h>).
 */
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio_driver.h>

#include <modvmm-netmap/netmap_ring.h>

#define DRV_NAME	"ptnetmap_memdev_uio"
#define DRV_VERSION	"0.1"

struct memdev {
	struct pci_dev *pdev;
	struct uio_info info;
	void __iomem *regs;
	spinlock_t irq_lock;	/* protects nirq and irq_on */
	unsigned int nirq;	/* vectors with a handler */
	bool irq_on;
	u32 tx_rings, rx_rings, tx_slots, rx_slots;
	u32 buf_size, buf_count;
	u64 mem_size;
};

static u32 memdev_reg(struct memdev *md, unsigned int off)
{
	return ioread32(md->regs + off);
}

static irqreturn_t memdev_irq(int irq, void *data)
{
	struct memdev *md = data;

	uio_event_notify(&md->info);
	return IRQ_HANDLED;
}

/* A write of 0 or 1 to /dev/uioN: mask or unmask every vector. */
static int memdev_irqcontrol(struct uio_info *info, s32 on)
{
	struct memdev *md = info->priv;
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&md->irq_lock, flags);
	if (on && !md->irq_on) {
		for (i = 0; i < md->nirq; i++)
			enable_irq(pci_irq_vector(md->pdev, i));
	} else if (!on && md->irq_on) {
		for (i = 0; i < md->nirq; i++)
			disable_irq_nosync(pci_irq_vector(md->pdev, i));
	}
	md->irq_on = !!on;
	spin_unlock_irqrestore(&md->irq_lock, flags);
	return 0;
}

static void memdev_free_irqs(struct memdev *md)
{
	unsigned long flags;
	unsigned int i, n;

	spin_lock_irqsave(&md->irq_lock, flags);
	n = md->nirq;
	md->nirq = 0;
	if (!md->irq_on)	/* free_irq() wants them enabled */
		for (i = 0; i < n; i++)
			enable_irq(pci_irq_vector(md->pdev, i));
	md->irq_on = true;
	spin_unlock_irqrestore(&md->irq_lock, flags);
	for (i = 0; i < n; i++)
		free_irq(pci_irq_vector(md->pdev, i), md);
}

static int memdev_request_irqs(struct memdev *md, unsigned int nvec)
{
	unsigned long flags;
	unsigned int i;
	int err;

	for (i = 0; i < nvec; i++) {
		err = request_irq(pci_irq_vector(md->pdev, i), memdev_irq, 0,
				  DRV_NAME, md);
		if (err)
			goto fail;
		spin_lock_irqsave(&md->irq_lock, flags);
		md->nirq = i + 1;
		if (!md->irq_on)	/* userspace masked them meanwhile */
			disable_irq_nosync(pci_irq_vector(md->pdev, i));
		spin_unlock_irqrestore(&md->irq_lock, flags);
	}
	return 0;

fail:
	memdev_free_irqs(md);
	return err;
}

static u32 memdev_rd(const void *ctx, unsigned int off)
{
	const struct memdev *md = ctx;

	return ioread32(md->regs + off);
}

/* Read the port geometry from BAR0 and check it against BAR1. */
static int memdev_read_geometry(struct memdev *md)
{
	struct pci_dev *pdev = md->pdev;
	u64 bar1_len = pci_resource_len(pdev, PTNETMAP_MEM_PCI_BAR);
	struct nmport_view v;

	if (!nmport_view_from_regs(&v, memdev_rd, md, NULL, bar1_len)) {
		dev_err(&pdev->dev,
			"unusable port: version %u, rings %u, slots %u, memory %llu of BAR1 %llu\n",
			memdev_reg(md, PTNET_MDEV_IO_VERSION), v.geom.nr_rings,
			v.geom.num_slots, v.win_size, bar1_len);
		return -EINVAL;
	}
	md->mem_size = v.win_size;
	md->tx_rings = v.geom.nr_rings;
	md->rx_rings = v.geom.nr_rings;
	md->tx_slots = v.geom.num_slots;
	md->rx_slots = v.geom.num_slots;
	md->buf_size = v.geom.buf_size;
	md->buf_count = v.nbufs;
	return 0;
}

static void memdev_init_uio(struct memdev *md)
{
	struct pci_dev *pdev = md->pdev;
	struct uio_info *info = &md->info;

	info->name = DRV_NAME;
	info->version = DRV_VERSION;
	info->priv = md;
	info->mem[0].name = "registers";
	info->mem[0].addr = pci_resource_start(pdev, PTNETMAP_IO_PCI_BAR);
	info->mem[0].size = PTNET_MDEV_IO_SIZE;
	info->mem[0].memtype = UIO_MEM_PHYS;
	info->mem[1].name = "port";
	info->mem[1].addr = pci_resource_start(pdev, PTNETMAP_MEM_PCI_BAR);
	info->mem[1].size = PAGE_ALIGN(md->mem_size);
	/* ordinary memory shared with the host, not device registers: mapped
	 * cacheable (UIO_MEM_PHYS would map it uncached)
	 */
	info->mem[1].memtype = UIO_MEM_IOVA;
	info->irq = UIO_IRQ_CUSTOM;
	info->irqcontrol = memdev_irqcontrol;
}

static int memdev_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct memdev *md;
	unsigned int nvec;
	int err;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;
	md->pdev = pdev;
	md->irq_on = true;
	spin_lock_init(&md->irq_lock);

	err = pci_enable_device(pdev);
	if (err)
		goto err_free;
	err = pci_request_regions(pdev, DRV_NAME);
	if (err)
		goto err_disable;
	if (!(pci_resource_flags(pdev, PTNETMAP_IO_PCI_BAR) & IORESOURCE_MEM) ||
	    !(pci_resource_flags(pdev, PTNETMAP_MEM_PCI_BAR) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, PTNETMAP_IO_PCI_BAR) < PTNET_MDEV_IO_SIZE) {
		dev_err(&pdev->dev, "BAR0/BAR1 missing or too small\n");
		err = -ENODEV;
		goto err_release;
	}
	md->regs = pci_iomap(pdev, PTNETMAP_IO_PCI_BAR, PTNET_MDEV_IO_SIZE);
	if (!md->regs) {
		err = -ENOMEM;
		goto err_release;
	}
	err = memdev_read_geometry(md);
	if (err)
		goto err_unmap;

	pci_set_master(pdev);	/* MSI-X messages are memory writes */
	nvec = md->tx_rings + md->rx_rings;
	err = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (err < 0) {
		dev_err(&pdev->dev, "cannot get %u MSI-X vectors: %d\n", nvec, err);
		goto err_master;
	}

	/* register first: an interrupt may arrive as soon as a handler exists */
	memdev_init_uio(md);
	err = uio_register_device(&pdev->dev, &md->info);
	if (err)
		goto err_vectors;
	err = memdev_request_irqs(md, nvec);
	if (err)
		goto err_uio;
	pci_set_drvdata(pdev, md);
	dev_info(&pdev->dev, "%u+%u rings of %u slots, %u buffers of %u bytes, %llu bytes mapped\n",
		 md->tx_rings, md->rx_rings, md->tx_slots, md->buf_count,
		 md->buf_size, md->mem_size);
	return 0;

err_uio:
	uio_unregister_device(&md->info);
err_vectors:
	pci_free_irq_vectors(pdev);
err_master:
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, md->regs);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(md);
	return err;
}

static void memdev_remove(struct pci_dev *pdev)
{
	struct memdev *md = pci_get_drvdata(pdev);

	memdev_free_irqs(md);
	uio_unregister_device(&md->info);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	pci_iounmap(pdev, md->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	kfree(md);
}

/* sysfs: /sys/bus/pci/devices/ADDR/{tx_rings,...} */
static ssize_t tx_rings_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->tx_rings);
}
static DEVICE_ATTR_RO(tx_rings);

static ssize_t rx_rings_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->rx_rings);
}
static DEVICE_ATTR_RO(rx_rings);

static ssize_t tx_slots_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->tx_slots);
}
static DEVICE_ATTR_RO(tx_slots);

static ssize_t rx_slots_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->rx_slots);
}
static DEVICE_ATTR_RO(rx_slots);

static ssize_t buf_size_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->buf_size);
}
static DEVICE_ATTR_RO(buf_size);

static ssize_t buf_count_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", md->buf_count);
}
static DEVICE_ATTR_RO(buf_count);

static ssize_t mem_size_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", md->mem_size);
}
static DEVICE_ATTR_RO(mem_size);

static ssize_t link_up_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct memdev *md = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", memdev_reg(md, PTNET_MDEV_IO_LINK) & 1);
}

/* not "link": PCI devices already have a "link" group (ASPM) */
static DEVICE_ATTR_RO(link_up);

static struct attribute *memdev_attrs[] = {
	&dev_attr_tx_rings.attr,
	&dev_attr_rx_rings.attr,
	&dev_attr_tx_slots.attr,
	&dev_attr_rx_slots.attr,
	&dev_attr_buf_size.attr,
	&dev_attr_buf_count.attr,
	&dev_attr_mem_size.attr,
	&dev_attr_link_up.attr,
	NULL,
};
ATTRIBUTE_GROUPS(memdev);

static const struct pci_device_id memdev_ids[] = {
	/* the class keeps QEMU's pcie-root-port (also 1b36:000c) out */
	{ PCI_DEVICE(PTNETMAP_PCI_VENDOR_ID, PTNETMAP_PCI_DEVICE_ID),
	  .class = PTNETMAP_PCI_CLASS, .class_mask = PTNETMAP_PCI_CLASS_MASK },
	{ }
};
MODULE_DEVICE_TABLE(pci, memdev_ids);

static struct pci_driver memdev_driver = {
	.name = DRV_NAME,
	.id_table = memdev_ids,
	.probe = memdev_probe,
	.remove = memdev_remove,
	.dev_groups = memdev_groups,
};
module_pci_driver(memdev_driver);

MODULE_DESCRIPTION("UIO driver for the modvmm ptnetmap-memdev netmap port device");
MODULE_LICENSE("GPL");
MODULE_VERSION(DRV_VERSION);
