/* SPDX-License-Identifier: MIT */
/* Constants and guest-visible layouts from the Virtual I/O Device (VIRTIO)
 * Version 1.2 specification (section numbers in the comments).  x86 only:
 * little-endian fields are used as native integers. */
#ifndef VIRTIO_H
#define VIRTIO_H

#include <stdint.h>

/* §2.1 Device status field */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01
#define VIRTIO_STATUS_DRIVER             0x02
#define VIRTIO_STATUS_DRIVER_OK          0x04
#define VIRTIO_STATUS_FEATURES_OK        0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* §6 Reserved feature bits */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* §5.1.3 Network device feature bits */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_GUEST_UFO      10
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_HOST_UFO       14
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_MQ             22
#define VIRTIO_NET_F_CTRL_MAC_ADDR  23

#define VIRTIO_BIT(b) (1ull << (b))

/* §2.7.5 The virtqueue descriptor table */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

/* §2.7.6 The virtqueue available ring: flags, idx, ring[num], used_event */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_AVAIL_RING_OFF 4
/* §2.7.8 The virtqueue used ring: flags, idx, ring[num] of {id, len}, avail_event */
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_USED_RING_OFF 4
struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* §2.7 alignment requirements of the three parts */
#define VRING_DESC_ALIGN  16
#define VRING_AVAIL_ALIGN 2
#define VRING_USED_ALIGN  4

/* §2.7.7.2 / §2.7.10: bytes of each part for a queue of `num` entries (with the
 * event fields). */
#define VRING_DESC_SIZE(num)  (16ull * (num))
#define VRING_AVAIL_SIZE(num) (6ull + 2ull * (num))
#define VRING_USED_SIZE(num)  (6ull + 8ull * (num))

/* §2.6 queue size: a power of 2 up to 32768 */
#define VIRTQ_MAX_SIZE 32768

/* §4.1.2 PCI device discovery */
#define VIRTIO_PCI_VENDOR_ID      0x1af4
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040      /* + virtio device id (non-transitional) */
#define VIRTIO_PCI_SUBSYS_ID      0x0040      /* §4.1.2.1: SHOULD be >= 0x40 */
#define VIRTIO_PCI_REVISION       1
#define VIRTIO_ID_NET             1

/* §4.1.4 Virtio structure PCI capabilities (vendor-specific capability 0x09) */
#define PCI_CAP_ID_VNDR 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* struct virtio_pci_cap from byte 2 on (pci_cap_add() writes the ID and next). */
struct virtio_pci_cap_body {
	uint8_t cap_len;     /* whole capability, ID and next included */
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset;
	uint32_t length;
	uint32_t notify_off_multiplier; /* VIRTIO_PCI_CAP_NOTIFY_CFG only */
} __attribute__((packed));
#define VIRTIO_PCI_CAP_LEN        16 /* struct virtio_pci_cap */
#define VIRTIO_PCI_NOTIFY_CAP_LEN 20 /* struct virtio_pci_notify_cap */
#define VIRTIO_PCI_CFG_CAP_LEN    20 /* struct virtio_pci_cfg_cap: the cap, then pci_cfg_data[4] */
#define VIRTIO_PCI_CAP_BAR        4  /* field offsets within a virtio_pci_cap */
#define VIRTIO_PCI_CAP_OFFSET     8
#define VIRTIO_PCI_CAP_LENGTH     12
#define VIRTIO_PCI_CFG_DATA       16


/* §4.1.4.3 struct virtio_pci_common_cfg */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00
#define VIRTIO_PCI_COMMON_DF            0x04
#define VIRTIO_PCI_COMMON_GFSELECT      0x08
#define VIRTIO_PCI_COMMON_GF            0x0c
#define VIRTIO_PCI_COMMON_MSIX          0x10
#define VIRTIO_PCI_COMMON_NUMQ          0x12
#define VIRTIO_PCI_COMMON_STATUS        0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34
#define VIRTIO_PCI_COMMON_Q_NDATA       0x38
#define VIRTIO_PCI_COMMON_Q_RESET       0x3a
#define VIRTIO_PCI_COMMON_SIZE          0x3c

/* §4.1.4.5 ISR status: bit 0 queue interrupt, bit 1 configuration change */
#define VIRTIO_PCI_ISR_QUEUE  0x1
#define VIRTIO_PCI_ISR_CONFIG 0x2

/* §4.1.5.1.2 MSI-X vector "no vector" */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* §5.1.4 struct virtio_net_config */
#define VIRTIO_NET_CFG_MAC       0
#define VIRTIO_NET_CFG_STATUS    6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_MTU       10
#define VIRTIO_NET_CFG_SIZE      12
#define VIRTIO_NET_S_LINK_UP     1

/* §5.1.6.5 Control virtqueue */
#define VIRTIO_NET_OK  0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC  0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET  1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000

#define ETH_ALEN 6

#endif
