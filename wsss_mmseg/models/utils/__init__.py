from .img_labels import IMG_LABELS_FIELD, get_img_labels, set_img_labels

__all__ = ['IMG_LABELS_FIELD', 'get_img_labels', 'set_img_labels']
